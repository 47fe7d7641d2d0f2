"""Add the catalogue's errata queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 13:31:33.106694
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_errata",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("part_number", sa.String(length=40), nullable=False),
        sa.Column("model_number", sa.String(length=40), nullable=True),
        sa.Column("ref_no", sa.String(length=20), nullable=True),
        sa.Column("release_label", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reported_by", sa.String(length=254), nullable=False),
        sa.Column("reported_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=254), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_errata")),
    )
    with op.batch_alter_table("catalog_errata", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_errata_resolved_at"), ["resolved_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_errata", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_errata_resolved_at"))

    op.drop_table("catalog_errata")
