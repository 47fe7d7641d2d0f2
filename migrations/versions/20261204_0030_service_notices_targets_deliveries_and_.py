"""service notices, targets, deliveries and acknowledgements

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 18:16:41.366828

Service notices (issue 18): a notice with its required parts, what and whom it targets, its
deliveries (one per person) and acknowledgements (one per person).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "service_bulletin",
                "part_notice",
                "policy_change",
                "support_change",
                name="notice_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("safety", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("what_changes", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("what_to_do", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "reviewed",
                "published",
                "withdrawn",
                name="notice_status",
                native_enum=False,
                create_constraint=True,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_notices_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"], name=op.f("fk_notices_reviewed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("reference", name=op.f("uq_notices_reference")),
    )
    op.create_table(
        "notice_acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "acknowledged_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_acknowledgements_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notice_acknowledgements_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_acknowledgements")),
        sa.UniqueConstraint(
            "notice_id", "user_id", name=op.f("uq_notice_acknowledgements_notice_id")
        ),
    )
    with op.batch_alter_table("notice_acknowledgements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notice_acknowledgements_notice_id"), ["notice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notice_acknowledgements_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_deliveries_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notice_deliveries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_deliveries")),
        sa.UniqueConstraint("notice_id", "user_id", name=op.f("uq_notice_deliveries_notice_id")),
    )
    with op.batch_alter_table("notice_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notice_deliveries_notice_id"), ["notice_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notice_deliveries_user_id"), ["user_id"], unique=False)

    op.create_table(
        "notice_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "product_line",
                "model",
                "part",
                "tree",
                "centre",
                "role",
                name="notice_target_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_targets_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_targets")),
        sa.UniqueConstraint("notice_id", "kind", "value", name=op.f("uq_notice_targets_notice_id")),
    )
    with op.batch_alter_table("notice_targets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notice_targets_notice_id"), ["notice_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notice_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_targets_notice_id"))

    op.drop_table("notice_targets")
    with op.batch_alter_table("notice_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_deliveries_user_id"))
        batch_op.drop_index(batch_op.f("ix_notice_deliveries_notice_id"))

    op.drop_table("notice_deliveries")
    with op.batch_alter_table("notice_acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_acknowledgements_user_id"))
        batch_op.drop_index(batch_op.f("ix_notice_acknowledgements_notice_id"))

    op.drop_table("notice_acknowledgements")
    op.drop_table("notices")
