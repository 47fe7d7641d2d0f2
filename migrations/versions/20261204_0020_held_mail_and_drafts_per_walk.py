"""held mail decided by an agent, and one escalation draft per walk

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.alter_column(
            "outcome", existing_type=sa.String(length=20), type_=sa.String(length=40)
        )
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "decided_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_inbound_mail_decided_by_id_users"), "users", ["decided_by_id"], ["id"]
        )
    with op.batch_alter_table("escalation_drafts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("diagnostic_session", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.drop_constraint("pk_escalation_drafts", type_="primary")
        batch_op.create_primary_key("pk_escalation_drafts", ["user_id", "diagnostic_session"])


def downgrade() -> None:
    # One draft per person again: the newest of each person's drafts is kept.
    op.execute(
        "DELETE FROM escalation_drafts WHERE EXISTS (SELECT 1 FROM escalation_drafts AS newer"
        " WHERE newer.user_id = escalation_drafts.user_id"
        " AND (newer.saved_at > escalation_drafts.saved_at OR (newer.saved_at ="
        " escalation_drafts.saved_at AND newer.diagnostic_session >"
        " escalation_drafts.diagnostic_session)))"
    )
    with op.batch_alter_table("escalation_drafts", schema=None) as batch_op:
        batch_op.drop_constraint("pk_escalation_drafts", type_="primary")
        batch_op.create_primary_key("pk_escalation_drafts", ["user_id"])
        batch_op.drop_column("diagnostic_session")
    op.execute("UPDATE inbound_mail SET outcome = substr(outcome, 1, 20)")
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_inbound_mail_decided_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by_id")
        batch_op.alter_column(
            "outcome", existing_type=sa.String(length=40), type_=sa.String(length=20)
        )
