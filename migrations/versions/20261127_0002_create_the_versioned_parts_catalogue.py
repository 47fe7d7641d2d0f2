"""Create the versioned parts catalogue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 13:23:10.494061
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_fitment_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_norm", sa.String(length=40), nullable=False),
        sa.Column("part_norm", sa.String(length=40), nullable=False),
        sa.Column("ref_no", sa.String(length=20), nullable=True),
        sa.Column("diagram", sa.String(length=80), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("serial_from", sa.String(length=40), nullable=True),
        sa.Column("serial_to", sa.String(length=40), nullable=True),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_fitment_versions")),
    )
    with op.batch_alter_table("catalog_fitment_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catalog_fitment_versions_model_from", ["model_norm", "valid_from"], unique=False
        )
        batch_op.create_index(
            "ix_catalog_fitment_versions_part_from", ["part_norm", "valid_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_fitment_versions_valid_from"), ["valid_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_fitment_versions_valid_to"), ["valid_to"], unique=False
        )

    op.create_table(
        "catalog_model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number_norm", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("product_line", sa.String(length=40), nullable=True),
        sa.Column("chassis", sa.String(length=40), nullable=True),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("support_ends_on", sa.Date(), nullable=True),
        sa.Column("exchange_value", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_model_versions")),
    )
    with op.batch_alter_table("catalog_model_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catalog_model_versions_norm_from", ["number_norm", "valid_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_model_versions_valid_from"), ["valid_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_model_versions_valid_to"), ["valid_to"], unique=False
        )

    op.create_table(
        "catalog_part_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number_norm", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=True),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("safety_critical", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_part_versions")),
    )
    with op.batch_alter_table("catalog_part_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catalog_part_versions_norm_from", ["number_norm", "valid_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_part_versions_valid_from"), ["valid_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_part_versions_valid_to"), ["valid_to"], unique=False
        )

    op.create_table(
        "catalog_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("imported_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=254), nullable=True),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_releases")),
        sa.UniqueConstraint("label", name=op.f("uq_catalog_releases_label")),
    )
    op.create_table(
        "catalog_stock_levels",
        sa.Column("number_norm", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number_norm", name=op.f("pk_catalog_stock_levels")),
    )
    op.create_table(
        "catalog_supersession_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("old_norm", sa.String(length=40), nullable=False),
        sa.Column("new_norm", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("interchangeability", sa.String(length=16), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("serial_from", sa.String(length=40), nullable=True),
        sa.Column("serial_to", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_supersession_versions")),
    )
    with op.batch_alter_table("catalog_supersession_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catalog_supersession_versions_new_from", ["new_norm", "valid_from"], unique=False
        )
        batch_op.create_index(
            "ix_catalog_supersession_versions_old_from", ["old_norm", "valid_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_supersession_versions_valid_from"), ["valid_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_supersession_versions_valid_to"), ["valid_to"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_supersession_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_supersession_versions_valid_to"))
        batch_op.drop_index(batch_op.f("ix_catalog_supersession_versions_valid_from"))
        batch_op.drop_index("ix_catalog_supersession_versions_old_from")
        batch_op.drop_index("ix_catalog_supersession_versions_new_from")

    op.drop_table("catalog_supersession_versions")
    op.drop_table("catalog_stock_levels")
    op.drop_table("catalog_releases")
    with op.batch_alter_table("catalog_part_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_part_versions_valid_to"))
        batch_op.drop_index(batch_op.f("ix_catalog_part_versions_valid_from"))
        batch_op.drop_index("ix_catalog_part_versions_norm_from")

    op.drop_table("catalog_part_versions")
    with op.batch_alter_table("catalog_model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_model_versions_valid_to"))
        batch_op.drop_index(batch_op.f("ix_catalog_model_versions_valid_from"))
        batch_op.drop_index("ix_catalog_model_versions_norm_from")

    op.drop_table("catalog_model_versions")
    with op.batch_alter_table("catalog_fitment_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_fitment_versions_valid_to"))
        batch_op.drop_index(batch_op.f("ix_catalog_fitment_versions_valid_from"))
        batch_op.drop_index("ix_catalog_fitment_versions_part_from")
        batch_op.drop_index("ix_catalog_fitment_versions_model_from")

    op.drop_table("catalog_fitment_versions")
