"""Exploded views: diagrams and their hotspots, versioned by release; drawings stored by hash

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_diagram_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("diagram_key", sa.String(length=80), nullable=False),
        sa.Column("model_norm", sa.String(length=40), nullable=True),
        sa.Column("chassis", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=120), nullable=False),
        sa.Column("drawing_sha256", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.Column("row_digest", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_diagram_versions")),
    )
    with op.batch_alter_table("catalog_diagram_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catalog_diagram_versions_chassis_from", ["chassis", "valid_from"], unique=False
        )
        batch_op.create_index(
            "ix_catalog_diagram_versions_key_from", ["diagram_key", "valid_from"], unique=False
        )
        batch_op.create_index(
            "ix_catalog_diagram_versions_model_from", ["model_norm", "valid_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_diagram_versions_valid_from"), ["valid_from"], unique=False
        )
        batch_op.create_index(
            "ix_catalog_diagram_versions_valid_to_digest", ["valid_to", "row_digest"], unique=False
        )

    op.create_table(
        "catalog_drawing_files",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("box_x", sa.Double(), nullable=False),
        sa.Column("box_y", sa.Double(), nullable=False),
        sa.Column("box_width", sa.Double(), nullable=False),
        sa.Column("box_height", sa.Double(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_catalog_drawing_files")),
    )
    op.create_table(
        "catalog_hotspot_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("diagram_key", sa.String(length=80), nullable=False),
        sa.Column("ref_no", sa.String(length=20), nullable=False),
        sa.Column("x", sa.Double(), nullable=True),
        sa.Column("y", sa.Double(), nullable=True),
        sa.Column("w", sa.Double(), nullable=True),
        sa.Column("h", sa.Double(), nullable=True),
        sa.Column("element_id", sa.String(length=120), nullable=True),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.Column("row_digest", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_hotspot_versions")),
    )
    with op.batch_alter_table("catalog_hotspot_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catalog_hotspot_versions_key_from", ["diagram_key", "valid_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_hotspot_versions_valid_from"), ["valid_from"], unique=False
        )
        batch_op.create_index(
            "ix_catalog_hotspot_versions_valid_to_digest", ["valid_to", "row_digest"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_hotspot_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_hotspot_versions_valid_to_digest")
        batch_op.drop_index(batch_op.f("ix_catalog_hotspot_versions_valid_from"))
        batch_op.drop_index("ix_catalog_hotspot_versions_key_from")

    op.drop_table("catalog_hotspot_versions")
    op.drop_table("catalog_drawing_files")
    with op.batch_alter_table("catalog_diagram_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_diagram_versions_valid_to_digest")
        batch_op.drop_index(batch_op.f("ix_catalog_diagram_versions_valid_from"))
        batch_op.drop_index("ix_catalog_diagram_versions_model_from")
        batch_op.drop_index("ix_catalog_diagram_versions_key_from")
        batch_op.drop_index("ix_catalog_diagram_versions_chassis_from")

    op.drop_table("catalog_diagram_versions")
