"""the outbox gives up on mail the server refuses for good

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 15:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusals", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column(
                "gave_up_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(batch_op.f("ix_outbox_messages_gave_up_at"), ["gave_up_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_messages_gave_up_at"))
        batch_op.drop_column("gave_up_at")
        batch_op.drop_column("refusals")
