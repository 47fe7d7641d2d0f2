"""escalation reminders, consults, reply addresses, parked forms

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 18:36:02.684942
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parked_forms",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_parked_forms")),
    )
    with op.batch_alter_table("parked_forms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_parked_forms_created_at"), ["created_at"], unique=False
        )

    with op.batch_alter_table("escalation_tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reminded_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "consult_since", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True
            )
        )

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_to", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("reply_to")

    with op.batch_alter_table("escalation_tickets", schema=None) as batch_op:
        batch_op.drop_column("consult_since")
        batch_op.drop_column("reminded_at")

    with op.batch_alter_table("parked_forms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parked_forms_created_at"))

    op.drop_table("parked_forms")
