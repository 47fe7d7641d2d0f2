"""Tables of repairs: the repair of one unit (by model and serial), its timeline, what is
attached to it (walks, orders, escalations), the symptom codes engineers maintain, and the
exchange programme (rules, authorisations, and the defective unit's return).

Walks, orders and tickets belong to other features; a repair refers to them by their own keys
(``repair_links``), so that none of them needs to know repairs exist.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import Base, LineOrModelScope, checked


class RepairStatus(enum.StrEnum):
    """Where a repair is. Open, waiting for parts and waiting for support are work in
    progress; repaired, exchanged and returned unrepaired are how it ended; closed is the job
    handed back."""

    OPEN = "open"
    WAITING_PARTS = "waiting_parts"
    WAITING_SUPPORT = "waiting_support"
    REPAIRED = "repaired"
    EXCHANGED = "exchanged"
    RETURNED_UNREPAIRED = "returned_unrepaired"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def in_progress(self) -> bool:
        return self in IN_PROGRESS


IN_PROGRESS = frozenset(
    {RepairStatus.OPEN, RepairStatus.WAITING_PARTS, RepairStatus.WAITING_SUPPORT}
)
#: How a repair ended (kept when it is then closed).
OUTCOMES = frozenset(
    {RepairStatus.REPAIRED, RepairStatus.EXCHANGED, RepairStatus.RETURNED_UNREPAIRED}
)
#: The partial unique index below spells these out: one repair in progress per unit and centre.
_IN_PROGRESS_SQL = "status IN ('open', 'waiting_parts', 'waiting_support')"


class EventKind(enum.StrEnum):
    OPENED = "opened"
    STATUS = "status"
    NOTE = "note"
    WALK = "walk"
    ORDER = "order"
    TICKET = "ticket"
    EXCHANGE = "exchange"
    REDO = "redo"


class LinkKind(enum.StrEnum):
    """What can be attached to a repair, each by its own key: a walk's id, an order's id, a
    ticket's reference."""

    WALK = "walk"
    ORDER = "order"
    TICKET = "ticket"


class ExchangeStatus(enum.StrEnum):
    APPROVED = "approved"
    PENDING = "pending"
    REFUSED = "refused"


class SymptomCode(Base):
    """A customer-complaint code engineers maintain ("no power", "no picture ..."), so that
    repairs of the same fault can be counted together."""

    __tablename__ = "symptom_codes"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(200))
    product_line: Mapped[str | None] = mapped_column(String(40))
    retired_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime]


class Repair(Base):
    __tablename__ = "repairs"
    __table_args__ = (
        UniqueConstraint("technician_id", "idempotency_key"),
        Index(None, "serial_norm", "model_norm"),
        # One repair in progress per unit at a centre, whatever races: opening it twice (a
        # double click, two colleagues) finds the one already open.
        Index(
            "uq_repairs_one_in_progress",
            "centre_id",
            "model_norm",
            "serial_norm",
            unique=True,
            postgresql_where=text(_IN_PROGRESS_SQL),
            sqlite_where=text(_IN_PROGRESS_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("service_centres.id"), index=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    model_number: Mapped[str] = mapped_column(String(40))  # as the catalogue spells it
    model_norm: Mapped[str] = mapped_column(String(40))
    serial: Mapped[str] = mapped_column(String(40))  # as typed
    serial_norm: Mapped[str] = mapped_column(String(40))
    purchase_on: Mapped[date | None]
    complaint: Mapped[str] = mapped_column(Text)
    symptom_code: Mapped[str | None] = mapped_column(ForeignKey("symptom_codes.code"))
    # The customer's details: seen by the centre that holds the repair (and admins) only.
    customer_name: Mapped[str | None] = mapped_column(String(120))
    customer_contact: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[RepairStatus] = mapped_column(
        checked(RepairStatus, "repair_status", 20), default=RepairStatus.OPEN
    )
    outcome: Mapped[RepairStatus | None] = mapped_column(
        checked(RepairStatus, "repair_outcome", 20)
    )
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]  # when it first ended (repaired, exchanged, ...)
    redo_of_id: Mapped[int | None] = mapped_column(ForeignKey("repairs.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(80))
    fingerprint: Mapped[str | None] = mapped_column(String(64))

    redo_of: Mapped[Repair | None] = relationship(remote_side=[id], foreign_keys=[redo_of_id])
    events: Mapped[list[RepairEvent]] = relationship(
        back_populates="repair", order_by="RepairEvent.id", cascade="all, delete-orphan"
    )
    links: Mapped[list[RepairLink]] = relationship(
        back_populates="repair", order_by="RepairLink.id", cascade="all, delete-orphan"
    )


class RepairEvent(Base):
    """One line of a repair's timeline."""

    __tablename__ = "repair_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    repair_id: Mapped[int] = mapped_column(ForeignKey("repairs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EventKind] = mapped_column(checked(EventKind, "repair_event_kind", 12))
    by: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)

    repair: Mapped[Repair] = relationship(back_populates="events")


class RepairLink(Base):
    """A walk, an order or a ticket that is part of a repair (each of one repair at most)."""

    __tablename__ = "repair_links"
    __table_args__ = (UniqueConstraint("kind", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repair_id: Mapped[int] = mapped_column(ForeignKey("repairs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[LinkKind] = mapped_column(checked(LinkKind, "repair_link_kind", 8))
    ref: Mapped[str] = mapped_column(String(40))
    linked_by: Mapped[str] = mapped_column(String(120))
    linked_at: Mapped[datetime]

    repair: Mapped[Repair] = relationship(back_populates="links")


class ExchangeRule(LineOrModelScope, Base):
    """The exchange programme for a product line, or for models matching a glob (which wins).

    :param eligible: whether the units may be exchanged at all.
    :param value: what the unit is worth for the programme; without one, the catalogue's
        ``exchange_value`` of the model.
    :param exchange_only: units that are never repaired: every request is approved.
    :param auto_approve: approve at once when the repair would cost more than the value (else
        an approver decides).
    :param advance: the replacement ships before the defective unit comes back.
    """

    __tablename__ = "exchange_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    eligible: Mapped[bool] = mapped_column(default=True)
    value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    exchange_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    auto_approve: Mapped[bool] = mapped_column(default=True)
    advance: Mapped[bool] = mapped_column(default=False, server_default=false())
    core_charge: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    return_days: Mapped[int] = mapped_column(default=15, server_default="15")
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime]


class ExchangeAuthorisation(Base):
    """A request to exchange a repair's unit, and its decision with what it was based on."""

    __tablename__ = "exchange_authorisations"
    __table_args__ = (
        # At most one approved-or-pending request per repair: a double click makes one.
        Index(
            "uq_exchange_authorisations_one_standing",
            "repair_id",
            unique=True,
            postgresql_where=text("status IN ('approved', 'pending')"),
            sqlite_where=text("status IN ('approved', 'pending')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    repair_id: Mapped[int] = mapped_column(ForeignKey("repairs.id"), index=True)
    status: Mapped[ExchangeStatus] = mapped_column(checked(ExchangeStatus, "exchange_status", 10))
    reason: Mapped[str] = mapped_column(Text)
    #: What the decision was made from (estimate, value, rule, walk), kept for audit.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(120))  # "rules" when automatic
    decided_at: Mapped[datetime | None]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))

    repair: Mapped[Repair] = relationship()
    unit_return: Mapped[UnitReturn | None] = relationship(back_populates="authorisation")


class UnitReturn(Base):
    """The defective unit's return (RMA) of an approved exchange."""

    __tablename__ = "exchange_unit_returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma: Mapped[str | None] = mapped_column(String(20), unique=True)
    authorisation_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_authorisations.id"), unique=True
    )
    model_number: Mapped[str] = mapped_column(String(40))
    serial: Mapped[str] = mapped_column(String(40))
    due_on: Mapped[date]
    core_charge: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    received_on: Mapped[date | None]
    charged_at: Mapped[datetime | None]

    authorisation: Mapped[ExchangeAuthorisation] = relationship(back_populates="unit_return")
