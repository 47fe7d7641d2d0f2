"""Keep the search index's changes as a log that every node follows

The queue ``search_pending`` (rows deleted once applied) becomes the append-only log
``search_changes``: each node's index remembers the last id it applied. Rows still queued are
changes no index has applied yet, so they are carried over, in order.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 18:40:46.771313
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("index_name", sa.String(length=20), nullable=False),
        sa.Column("doc_id", sa.String(length=80), nullable=False),
        sa.Column("queued_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pruned_before", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_changes")),
        # Ids are never reused on SQLite either (AUTOINCREMENT), even once rows are deleted.
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("search_changes", schema=None) as batch_op:
        batch_op.create_index("ix_search_changes_index_name_id", ["index_name", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_search_changes_queued_at"), ["queued_at"], unique=False
        )
    # New ids, drawn in the old order (the old ones may collide with the new sequence).
    op.execute(
        "INSERT INTO search_changes (index_name, doc_id, queued_at) "
        "SELECT index_name, doc_id, queued_at FROM search_pending ORDER BY id"
    )
    op.drop_table("search_pending")


def downgrade() -> None:
    op.create_table(
        "search_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("index_name", sa.String(length=20), nullable=False),
        sa.Column("doc_id", sa.String(length=80), nullable=False),
        sa.Column("queued_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_pending")),
    )
    # The old writer deletes what it applies and has no cursor: every logged change is queued
    # again (re-indexing a document twice is harmless).
    op.execute(
        "INSERT INTO search_pending (index_name, doc_id, queued_at) "
        "SELECT index_name, doc_id, queued_at FROM search_changes ORDER BY id"
    )
    with op.batch_alter_table("search_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_changes_queued_at"))
        batch_op.drop_index("ix_search_changes_index_name_id")

    op.drop_table("search_changes")
