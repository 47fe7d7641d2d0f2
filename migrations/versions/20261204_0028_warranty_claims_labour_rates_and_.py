"""warranty claims, labour rates and payment batches

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 17:50:22.843237

Warranty claims (issue 17): flat-rate labour codes by effective date, claims with their lines
and history, payment batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warranty_labour_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("product_line", sa.String(length=40), nullable=False),
        sa.Column("repair_kind", sa.String(length=80), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_labour_rates")),
        sa.UniqueConstraint("code", "effective_on", name=op.f("uq_warranty_labour_rates_code")),
    )
    op.create_table(
        "warranty_payment_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"],
            ["service_centres.id"],
            name=op.f("fk_warranty_payment_batches_centre_id_service_centres"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_payment_batches")),
        sa.UniqueConstraint("reference", name=op.f("uq_warranty_payment_batches_reference")),
    )
    with op.batch_alter_table("warranty_payment_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_warranty_payment_batches_centre_id"), ["centre_id"], unique=False
        )

    op.create_table(
        "warranty_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column("repair_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "approved",
                "rejected",
                "needs_information",
                "paid",
                name="claim_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("labour_code", sa.String(length=20), nullable=True),
        sa.Column("fault", sa.String(length=20), nullable=True),
        sa.Column("faulty_serial", sa.String(length=40), nullable=True),
        sa.Column("replacement_serial", sa.String(length=40), nullable=True),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("payment_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["centre_id"],
            ["service_centres.id"],
            name=op.f("fk_warranty_claims_centre_id_service_centres"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_warranty_claims_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["payment_batch_id"],
            ["warranty_payment_batches.id"],
            name=op.f("fk_warranty_claims_payment_batch_id_warranty_payment_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["repair_id"], ["repairs.id"], name=op.f("fk_warranty_claims_repair_id_repairs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_claims")),
        sa.UniqueConstraint("reference", name=op.f("uq_warranty_claims_reference")),
    )
    with op.batch_alter_table("warranty_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_warranty_claims_centre_id"), ["centre_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_warranty_claims_repair_id"), ["repair_id"], unique=False
        )

    op.create_table(
        "warranty_claim_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["warranty_claims.id"],
            name=op.f("fk_warranty_claim_events_claim_id_warranty_claims"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_claim_events")),
    )
    with op.batch_alter_table("warranty_claim_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_warranty_claim_events_claim_id"), ["claim_id"], unique=False
        )

    op.create_table(
        "warranty_claim_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "labour",
                "part",
                "handling",
                "travel",
                name="claim_line_kind",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("part_number", sa.String(length=40), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("faulty_serial", sa.String(length=40), nullable=True),
        sa.Column("replacement_serial", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["warranty_claims.id"],
            name=op.f("fk_warranty_claim_lines_claim_id_warranty_claims"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_claim_lines")),
    )
    with op.batch_alter_table("warranty_claim_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_warranty_claim_lines_claim_id"), ["claim_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("warranty_claim_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warranty_claim_lines_claim_id"))

    op.drop_table("warranty_claim_lines")
    with op.batch_alter_table("warranty_claim_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warranty_claim_events_claim_id"))

    op.drop_table("warranty_claim_events")
    with op.batch_alter_table("warranty_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warranty_claims_repair_id"))
        batch_op.drop_index(batch_op.f("ix_warranty_claims_centre_id"))

    op.drop_table("warranty_claims")
    with op.batch_alter_table("warranty_payment_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warranty_payment_batches_centre_id"))

    op.drop_table("warranty_payment_batches")
    op.drop_table("warranty_labour_rates")
