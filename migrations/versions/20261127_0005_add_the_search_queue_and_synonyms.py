"""Add the search index's queue of pending changes and the synonym list

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 15:59:24.886091
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("index_name", sa.String(length=20), nullable=False),
        sa.Column("doc_id", sa.String(length=80), nullable=False),
        sa.Column("queued_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_pending")),
    )
    op.create_table(
        "search_synonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("words", sa.String(length=80), nullable=False),
        sa.Column("means", sa.String(length=120), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonyms")),
        sa.UniqueConstraint("words", "means", name=op.f("uq_search_synonyms_words")),
    )


def downgrade() -> None:
    op.drop_table("search_synonyms")
    op.drop_table("search_pending")
