"""Add tree draft versions and the change log

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 17:04:34.757890
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "diagnostic_tree_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_id", sa.String(length=80), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=254), nullable=True),
        sa.Column("at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnostic_tree_changes")),
    )
    with op.batch_alter_table("diagnostic_tree_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_diagnostic_tree_changes_tree_id"), ["tree_id"], unique=False
        )

    with op.batch_alter_table("diagnostic_tree_revisions", schema=None) as batch_op:
        batch_op.create_index(
            "uq_diagnostic_tree_revisions_one_draft",
            ["tree_id"],
            unique=True,
            postgresql_where=sa.text("status = 'draft'"),
            sqlite_where=sa.text("status = 'draft'"),
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("updated_by", sa.String(length=254), nullable=True))
        batch_op.add_column(
            sa.Column(
                "updated_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("diagnostic_tree_revisions", schema=None) as batch_op:
        batch_op.drop_index("uq_diagnostic_tree_revisions_one_draft")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("updated_by")
        batch_op.drop_column("version")

    with op.batch_alter_table("diagnostic_tree_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnostic_tree_changes_tree_id"))

    op.drop_table("diagnostic_tree_changes")
