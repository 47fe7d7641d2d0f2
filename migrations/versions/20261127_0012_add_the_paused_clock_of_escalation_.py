"""Add the paused clock of escalation tickets

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 18:09:42.557306
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalation_tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paused_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("escalation_tickets", schema=None) as batch_op:
        batch_op.drop_column("paused_at")
