"""repairs and the exchange programme

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 17:40:34.536036

Repairs by unit (model and serial) with their timeline and what is attached to them, the
symptom codes engineers maintain, and the exchange programme: rules, authorisations and the
defective unit's return (RMA). Two values join checked columns: the ``exchange_approver`` role,
and the ``exchange`` order kind (the replacement unit of an approved exchange).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ROLES = ("technician", "centre_manager", "engineer", "agent_tier1", "agent_tier2", "admin")
ORDER_KINDS = ("paid", "warranty")


def _recheck(table: str, column: str, old: str, new: str, allowed: tuple[str, ...]) -> None:
    """Replace a CHECK constraint of allowed values (migration 0001 named the role's ``role``;
    it takes the convention's name, ``ck_users_role``, here)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(old), type_="check")
        batch_op.create_check_constraint(op.f(new), sa.column(column).in_(allowed))


def _refuse_new_values() -> None:
    connection = op.get_bind()
    users = sa.table("users", sa.column("role", sa.String))
    orders = sa.table("orders", sa.column("kind", sa.String))
    approvers = connection.scalar(
        sa.select(sa.func.count()).select_from(users).where(users.c.role == "exchange_approver")
    )
    exchanges = connection.scalar(
        sa.select(sa.func.count()).select_from(orders).where(orders.c.kind == "exchange")
    )
    if approvers or exchanges:
        raise RuntimeError(
            f"Cannot downgrade: {approvers} exchange approvers and {exchanges} exchange orders "
            "exist; give the approvers another role and remove the exchange orders first."
        )


def upgrade() -> None:
    _recheck("users", "role", "role", "ck_users_role", (*ROLES, "exchange_approver"))
    _recheck(
        "orders", "kind", "ck_orders_order_kind", "ck_orders_order_kind", (*ORDER_KINDS, "exchange")
    )
    op.create_table(
        "exchange_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_line", sa.String(length=40), nullable=True),
        sa.Column("model_pattern", sa.String(length=80), nullable=True),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("exchange_only", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("auto_approve", sa.Boolean(), nullable=False),
        sa.Column("advance", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("core_charge", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("return_days", sa.Integer(), server_default="15", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rules")),
    )
    op.create_table(
        "symptom_codes",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("product_line", sa.String(length=40), nullable=True),
        sa.Column("retired_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_symptom_codes")),
    )
    op.create_table(
        "repairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.Column("model_number", sa.String(length=40), nullable=False),
        sa.Column("model_norm", sa.String(length=40), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("serial_norm", sa.String(length=40), nullable=False),
        sa.Column("purchase_on", sa.Date(), nullable=True),
        sa.Column("complaint", sa.Text(), nullable=False),
        sa.Column("symptom_code", sa.String(length=20), nullable=True),
        sa.Column("customer_name", sa.String(length=120), nullable=True),
        sa.Column("customer_contact", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "waiting_parts",
                "waiting_support",
                "repaired",
                "exchanged",
                "returned_unrepaired",
                "closed",
                name="repair_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "open",
                "waiting_parts",
                "waiting_support",
                "repaired",
                "exchanged",
                "returned_unrepaired",
                "closed",
                name="repair_outcome",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("opened_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redo_of_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=80), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["service_centres.id"], name=op.f("fk_repairs_centre_id_service_centres")
        ),
        sa.ForeignKeyConstraint(
            ["redo_of_id"], ["repairs.id"], name=op.f("fk_repairs_redo_of_id_repairs")
        ),
        sa.ForeignKeyConstraint(
            ["symptom_code"],
            ["symptom_codes.code"],
            name=op.f("fk_repairs_symptom_code_symptom_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"], ["users.id"], name=op.f("fk_repairs_technician_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repairs")),
        sa.UniqueConstraint("reference", name=op.f("uq_repairs_reference")),
        sa.UniqueConstraint(
            "technician_id", "idempotency_key", name=op.f("uq_repairs_technician_id")
        ),
    )
    with op.batch_alter_table("repairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repairs_centre_id"), ["centre_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_repairs_serial_norm"), ["serial_norm", "model_norm"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_repairs_technician_id"), ["technician_id"], unique=False
        )
        batch_op.create_index(
            "uq_repairs_one_in_progress",
            ["centre_id", "model_norm", "serial_norm"],
            unique=True,
            postgresql_where=sa.text("status IN ('open', 'waiting_parts', 'waiting_support')"),
            sqlite_where=sa.text("status IN ('open', 'waiting_parts', 'waiting_support')"),
        )

    op.create_table(
        "exchange_authorisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("repair_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "approved",
                "pending",
                "refused",
                name="exchange_status",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "requested_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_exchange_authorisations_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["repair_id"], ["repairs.id"], name=op.f("fk_exchange_authorisations_repair_id_repairs")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_exchange_authorisations_requested_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_authorisations")),
        sa.UniqueConstraint("number", name=op.f("uq_exchange_authorisations_number")),
    )
    with op.batch_alter_table("exchange_authorisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exchange_authorisations_repair_id"), ["repair_id"], unique=False
        )
        batch_op.create_index(
            "uq_exchange_authorisations_one_standing",
            ["repair_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('approved', 'pending')"),
            sqlite_where=sa.text("status IN ('approved', 'pending')"),
        )

    op.create_table(
        "repair_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repair_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "opened",
                "status",
                "note",
                "walk",
                "order",
                "ticket",
                "exchange",
                "redo",
                name="repair_event_kind",
                native_enum=False,
                create_constraint=True,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repair_id"],
            ["repairs.id"],
            name=op.f("fk_repair_events_repair_id_repairs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_events")),
    )
    with op.batch_alter_table("repair_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repair_events_repair_id"), ["repair_id"], unique=False)

    op.create_table(
        "repair_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repair_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "walk",
                "order",
                "ticket",
                name="repair_link_kind",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("linked_by", sa.String(length=120), nullable=False),
        sa.Column("linked_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repair_id"],
            ["repairs.id"],
            name=op.f("fk_repair_links_repair_id_repairs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_links")),
        sa.UniqueConstraint("kind", "ref", name=op.f("uq_repair_links_kind")),
    )
    with op.batch_alter_table("repair_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repair_links_repair_id"), ["repair_id"], unique=False)

    op.create_table(
        "exchange_unit_returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rma", sa.String(length=20), nullable=True),
        sa.Column("authorisation_id", sa.Integer(), nullable=False),
        sa.Column("model_number", sa.String(length=40), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("core_charge", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("charged_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["exchange_authorisations.id"],
            name=op.f("fk_exchange_unit_returns_authorisation_id_exchange_authorisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_unit_returns")),
        sa.UniqueConstraint(
            "authorisation_id", name=op.f("uq_exchange_unit_returns_authorisation_id")
        ),
        sa.UniqueConstraint("rma", name=op.f("uq_exchange_unit_returns_rma")),
    )


def downgrade() -> None:
    _refuse_new_values()
    _recheck("users", "role", "ck_users_role", "role", ROLES)
    _recheck("orders", "kind", "ck_orders_order_kind", "ck_orders_order_kind", ORDER_KINDS)
    op.drop_table("exchange_unit_returns")
    with op.batch_alter_table("repair_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_links_repair_id"))

    op.drop_table("repair_links")
    with op.batch_alter_table("repair_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_events_repair_id"))

    op.drop_table("repair_events")
    with op.batch_alter_table("exchange_authorisations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_exchange_authorisations_one_standing",
            postgresql_where=sa.text("status IN ('approved', 'pending')"),
            sqlite_where=sa.text("status IN ('approved', 'pending')"),
        )
        batch_op.drop_index(batch_op.f("ix_exchange_authorisations_repair_id"))

    op.drop_table("exchange_authorisations")
    with op.batch_alter_table("repairs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_repairs_one_in_progress",
            postgresql_where=sa.text("status IN ('open', 'waiting_parts', 'waiting_support')"),
            sqlite_where=sa.text("status IN ('open', 'waiting_parts', 'waiting_support')"),
        )
        batch_op.drop_index(batch_op.f("ix_repairs_technician_id"))
        batch_op.drop_index(batch_op.f("ix_repairs_serial_norm"))
        batch_op.drop_index(batch_op.f("ix_repairs_centre_id"))

    op.drop_table("repairs")
    op.drop_table("symptom_codes")
    op.drop_table("exchange_rules")
