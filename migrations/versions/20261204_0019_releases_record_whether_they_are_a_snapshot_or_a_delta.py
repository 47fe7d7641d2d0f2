"""releases record whether they are a snapshot or a delta

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every release imported before was a full snapshot.
    with op.batch_alter_table("catalog_releases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), server_default="snapshot", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_releases", schema=None) as batch_op:
        batch_op.drop_column("kind")
