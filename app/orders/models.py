"""Tables of ordering: carts, orders with what was asked and what ships, and returns.

An order line keeps what was asked (the number as typed and the quantity), the catalogue's
resolution as of the release used, and one item per part that ships (a kit has several), each
with what was reserved from stock and what is backordered.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import Base

PLACED, PICKING, SHIPPED, DELIVERED, CANCELLED = (
    "placed",
    "picking",
    "shipped",
    "delivered",
    "cancelled",
)
STATUSES = (PLACED, PICKING, SHIPPED, DELIVERED, CANCELLED)
RETURN_REASONS = {
    "wrong_part": "Wrong part",
    "catalogue_error": "Catalogue error (the catalogue listed it for this model)",
    "damaged": "Damaged",
    "not_needed": "Not needed",
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
    kind: Mapped[str] = mapped_column(String(12), default="paid")  # paid or warranty
    job: Mapped[str | None] = mapped_column(String(80))  # a warranty job or serial
    status: Mapped[str] = mapped_column(String(12), default=PLACED)
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
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    model_number: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))  # requested, accepted, refused, credited
    requested_by: Mapped[str] = mapped_column(String(254))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    erratum_id: Mapped[int | None]

    item: Mapped[OrderItem] = relationship(back_populates="returns")
