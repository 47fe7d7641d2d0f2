"""Add diagnostic trees, sessions and centre labour rates

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 16:38:14.655871
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "diagnostic_tree_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_id", sa.String(length=80), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("product_line", sa.String(length=40), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column("created_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnostic_tree_revisions")),
        sa.UniqueConstraint("tree_id", "number", name=op.f("uq_diagnostic_tree_revisions_tree_id")),
    )
    with op.batch_alter_table("diagnostic_tree_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_diagnostic_tree_revisions_status"), ["status", "tree_id"], unique=False
        )

    op.create_table(
        "diagnostic_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=254), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("model_number", sa.String(length=40), nullable=True),
        sa.Column("serial", sa.String(length=40), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("started_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("fixed", sa.Boolean(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("feedback_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["diagnostic_tree_revisions.id"],
            name=op.f("fk_diagnostic_sessions_revision_id_diagnostic_tree_revisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnostic_sessions")),
    )
    op.create_table(
        "diagnostic_tree_codes",
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["diagnostic_tree_revisions.id"],
            name=op.f("fk_diagnostic_tree_codes_revision_id_diagnostic_tree_revisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("revision_id", "code", name=op.f("pk_diagnostic_tree_codes")),
    )
    with op.batch_alter_table("diagnostic_tree_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_diagnostic_tree_codes_code"), ["code"], unique=False)

    op.create_table(
        "diagnostic_session_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("node", sa.String(length=80), nullable=False),
        sa.Column("option", sa.String(length=200), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("answered_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "taken_back_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["diagnostic_sessions.id"],
            name=op.f("fk_diagnostic_session_answers_session_id_diagnostic_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnostic_session_answers")),
    )
    with op.batch_alter_table("diagnostic_session_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_diagnostic_session_answers_session_id"), ["session_id"], unique=False
        )

    with op.batch_alter_table("service_centres", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "labour_rate",
                sa.Numeric(precision=8, scale=2),
                server_default="45.00",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("service_centres", schema=None) as batch_op:
        batch_op.drop_column("labour_rate")

    with op.batch_alter_table("diagnostic_session_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnostic_session_answers_session_id"))

    op.drop_table("diagnostic_session_answers")
    with op.batch_alter_table("diagnostic_tree_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnostic_tree_codes_code"))

    op.drop_table("diagnostic_tree_codes")
    op.drop_table("diagnostic_sessions")
    with op.batch_alter_table("diagnostic_tree_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnostic_tree_revisions_status"))

    op.drop_table("diagnostic_tree_revisions")
