"""search misses counted by week

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 23:00:00.000000

A search that finds nothing is counted under its week, its kind and its words (nothing about who
asked), so engineers see the commonest misses and add synonyms or better descriptions.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | Sequence[str] | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_misses",
        sa.Column("week_starts_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week_starts_on", "kind", "query", name=op.f("pk_search_misses")),
    )


def downgrade() -> None:
    op.drop_table("search_misses")
