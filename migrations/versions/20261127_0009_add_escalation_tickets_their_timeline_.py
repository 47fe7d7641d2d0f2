"""Add escalation tickets, their timeline and form drafts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 17:40:03.445839
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalation_drafts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("saved_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_escalation_drafts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_escalation_drafts")),
    )
    op.create_table(
        "escalation_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("tier", sa.String(length=12), nullable=False),
        sa.Column("product_line", sa.String(length=40), nullable=True),
        sa.Column("model_number", sa.String(length=40), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=True),
        sa.Column("diagnostic_session", sa.String(length=32), nullable=True),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=80), nullable=True),
        sa.Column("created_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "first_response_due", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "resolution_due", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "first_responded_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("breached_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_escalation_tickets_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_escalation_tickets_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["centre_id"],
            ["service_centres.id"],
            name=op.f("fk_escalation_tickets_centre_id_service_centres"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_tickets")),
        sa.UniqueConstraint(
            "author_id", "idempotency_key", name=op.f("uq_escalation_tickets_author_id")
        ),
        sa.UniqueConstraint("reference", name=op.f("uq_escalation_tickets_reference")),
    )
    with op.batch_alter_table("escalation_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_tickets_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_escalation_tickets_centre_id"), ["centre_id"], unique=False
        )

    op.create_table(
        "escalation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["escalation_tickets.id"],
            name=op.f("fk_escalation_events_ticket_id_escalation_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_events")),
    )
    with op.batch_alter_table("escalation_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_events_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("escalation_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_events_ticket_id"))

    op.drop_table("escalation_events")
    with op.batch_alter_table("escalation_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_tickets_centre_id"))
        batch_op.drop_index(batch_op.f("ix_escalation_tickets_author_id"))

    op.drop_table("escalation_tickets")
    op.drop_table("escalation_drafts")
