"""Tables of ordering: carts, orders with what was asked and what ships, and returns.

An order line keeps what was asked (the number as typed and the quantity), the catalogue's
resolution as of the release used, and one item per part that ships (a kit has several), each
with what was reserved from stock and what is backordered.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import Base, checked


class OrderStatus(enum.StrEnum):
    """Where an order is: it moves forward only (placed → picking → shipped → delivered), or is
    cancelled while it has not shipped."""

    PLACED = "placed"
    PICKING = "picking"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class OrderKind(enum.StrEnum):
    PAID = "paid"
    WARRANTY = "warranty"
    #: The replacement unit of an approved exchange (made by the exchange programme only).
    EXCHANGE = "exchange"


class ReturnStatus(enum.StrEnum):
    """A return is requested, then accepted or refused; an accepted one is credited."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    CREDITED = "credited"


class ReturnReason(enum.StrEnum):
    WRONG_PART = "wrong_part"
    CATALOGUE_ERROR = "catalogue_error"
    DAMAGED = "damaged"
    NOT_NEEDED = "not_needed"


PLACED = OrderStatus.PLACED
PICKING = OrderStatus.PICKING
SHIPPED = OrderStatus.SHIPPED
DELIVERED = OrderStatus.DELIVERED
CANCELLED = OrderStatus.CANCELLED
STATUSES = tuple(OrderStatus)
#: The way forward; a cancelled order leaves it.
FLOW = (PLACED, PICKING, SHIPPED, DELIVERED)
RETURN_REASONS = {
    ReturnReason.WRONG_PART: "Wrong part",
    ReturnReason.CATALOGUE_ERROR: "Catalogue error (the catalogue listed it for this model)",
    ReturnReason.DAMAGED: "Damaged",
    ReturnReason.NOT_NEEDED: "Not needed",
}


class CartLine(Base):
    __tablename__ = "cart_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int]
    serial: Mapped[str | None] = mapped_column(String(40))
    #: The person read a conditional replacement's condition and said it applies to the unit.
    acknowledged: Mapped[bool] = mapped_column(default=False, server_default=false())
    added_at: Mapped[datetime]


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("placed_by_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("service_centres.id"), index=True)
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reference: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[OrderKind] = mapped_column(
        checked(OrderKind, "order_kind", 12), default=OrderKind.PAID
    )
    job: Mapped[str | None] = mapped_column(String(80))  # a warranty job or serial
    status: Mapped[OrderStatus] = mapped_column(
        checked(OrderStatus, "order_status", 12), default=PLACED
    )
    release_label: Mapped[str] = mapped_column(String(64))
    total: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    idempotency_key: Mapped[str | None] = mapped_column(String(80))
    #: What the key placed (a digest of the lines and fields): the key again with other content
    #: is refused, not answered with this order.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    placed_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    requested: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(24))
    resolution: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The conditions of a conditional replacement the orderer confirmed, as they read them.
    acknowledged: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship(back_populates="lines")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="line", order_by="OrderItem.id", cascade="all, delete-orphan"
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE"), index=True
    )
    part_number: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int]
    reserved: Mapped[int]
    backordered: Mapped[int]
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))

    line: Mapped[OrderLine] = relationship(back_populates="items")
    returns: Mapped[list[ReturnRequest]] = relationship(back_populates="item")


class ReturnRequest(Base):
    __tablename__ = "order_returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), index=True)
    quantity: Mapped[int]
    reason: Mapped[ReturnReason] = mapped_column(checked(ReturnReason, "return_reason", 20))
    note: Mapped[str | None] = mapped_column(Text)
    model_number: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[ReturnStatus] = mapped_column(checked(ReturnStatus, "return_status", 12))
    requested_by: Mapped[str] = mapped_column(String(254))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    erratum_id: Mapped[int | None]

    item: Mapped[OrderItem] = relationship(back_populates="returns")
