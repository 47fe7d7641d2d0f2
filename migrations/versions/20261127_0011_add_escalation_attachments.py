"""Add escalation attachments

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 18:00:08.242146
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalation_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=80), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["escalation_tickets.id"],
            name=op.f("fk_escalation_attachments_ticket_id_escalation_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_escalation_attachments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_attachments")),
        sa.UniqueConstraint("token", name=op.f("uq_escalation_attachments_token")),
    )
    with op.batch_alter_table("escalation_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_attachments_ticket_id"), ["ticket_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_escalation_attachments_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("escalation_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_attachments_user_id"))
        batch_op.drop_index(batch_op.f("ix_escalation_attachments_ticket_id"))

    op.drop_table("escalation_attachments")
