"""Ordering: what was asked, resolved through the catalogue today, placed with stock reserved
atomically; returns, where a catalogue error is always accepted and reaches the engineers.

Stock is reserved by compare-and-set (``UPDATE ... SET quantity = q - r WHERE quantity = q``),
retried when another order got there first: concurrent orders never oversell, on SQLite or
PostgreSQL, without holding locks across the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.orders.models import (
    CANCELLED,
    DELIVERED,
    PICKING,
    PLACED,
    RETURN_REASONS,
    SHIPPED,
    STATUSES,
    CartLine,
    Order,
    OrderItem,
    OrderLine,
    ReturnRequest,
)
from app.roles import Role
from parts_catalog import documents, errata
from parts_catalog.models import StockLevel
from parts_catalog.numbers import normalise
from parts_catalog.services import get_part, latest_release, resolve_number
from parts_catalog.sqltypes import utcnow
from parts_catalog.supersession import CURRENT, KIT, NLA, NO_LONGER_AVAILABLE, Resolution

MAX_LINES = 200
MAX_QUANTITY = 999


class OrderError(Exception):
    """An order that cannot be placed; ``problems`` names each line."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


# --- reading what was asked ---------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    number: str
    quantity: int
    serial: str | None = None
    line: int = 0  # where it came from, for messages


_LINE = re.compile(r"^(?P<number>.+?)(?:\s*[,;\t]\s*|\s+[x×]\s*|\s*×\s*)(?P<quantity>\S+)$")


def read_list(text: str) -> tuple[list[Asked], list[str]]:
    """Lines of ``number, quantity`` (a comma, semicolon, tab or "x" before the quantity; a
    number alone means one) → what was asked, and a message for every line that cannot be read.
    A header line (no digit in its first cell) is skipped. Spaces inside a number are kept: the
    catalogue reads "1474 594 11" as 1-474-594-11."""
    asked: list[Asked] = []
    problems: list[str] = []
    first = True
    for index, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().strip('"')
        if not line:
            continue
        header, first = first, False
        match = _LINE.match(line)
        number, quantity_text = (match["number"], match["quantity"]) if match else (line, "1")
        number = number.strip().strip('"')
        if header and not any(ch.isdigit() for ch in number):
            continue  # "part_number,quantity"
        quantity_text = quantity_text.strip().strip('"')
        if not (quantity_text.isascii() and quantity_text.isdecimal()):
            problems.append(f"line {index}: “{quantity_text}” is not a whole quantity")
            continue
        quantity = int(quantity_text)
        if not 1 <= quantity <= MAX_QUANTITY:
            problems.append(f"line {index}: the quantity must be 1 to {MAX_QUANTITY}")
            continue
        if len(number) > 40:
            problems.append(f"line {index}: “{number[:40]}…” is too long for a part number")
            continue
        asked.append(Asked(number, quantity, line=index))
    return asked, problems


@dataclass
class Checked:
    """One asked line and what the catalogue says to ship for it today."""

    asked: Asked
    resolution: Resolution
    verdict: str  # current, superseded, kit, conditional, no_longer_available, unknown
    message: str
    items: list[tuple[str, int, Decimal | None, str | None]] = field(default_factory=list)

    @property
    def orderable(self) -> bool:
        return self.verdict in (CURRENT, "superseded", KIT)


def check(session: Session, asked: list[Asked]) -> list[Checked]:
    """The report shown before ordering: every line resolved, nothing dropped."""
    release = latest_release(session)
    if release is None:
        raise OrderError("The catalogue is empty: nothing can be ordered yet.")
    report = []
    for line in asked:
        resolution = resolve_number(session, line.number, release=release, serial=line.serial)
        items = []
        missing = [i.part_number for i in resolution.result if i.status == NLA]
        if missing and len(missing) < len(resolution.result):
            report.append(
                Checked(
                    line,
                    resolution,
                    "incomplete",
                    f"{line.number}: part of what replaces it is no longer available "
                    f"({', '.join(missing)}); it cannot be ordered whole.",
                    [],
                )
            )
            continue
        for item in resolution.result:
            if item.status == NLA:
                continue
            info = get_part(session, item.part_number, release=release)
            items.append(
                (info.number, item.quantity * line.quantity, info.unit_price, info.currency)
            )
        report.append(_verdict(line, resolution, items))
    return report


def _verdict(
    line: Asked, resolution: Resolution, items: list[tuple[str, int, Decimal | None, str | None]]
) -> Checked:
    asked = line.number
    if not resolution.known:
        return Checked(line, resolution, "unknown", f"{asked} is not in the catalogue.", [])
    if resolution.requires_confirmation and not line.serial:
        return Checked(
            line,
            resolution,
            "conditional",
            f"{asked}: the replacement depends on the unit ({'; '.join(resolution.notes)}). "
            "Give the serial number to choose.",
            items,
        )
    if resolution.outcome == NO_LONGER_AVAILABLE or not items:
        return Checked(
            line,
            resolution,
            NO_LONGER_AVAILABLE,
            f"{asked} is no longer available and nothing replaces it.",
            [],
        )
    if resolution.outcome == KIT:
        kit = ", ".join(f"{n} × {q}" for n, q, _p, _c in items)
        return Checked(
            line, resolution, KIT, f"You asked for {asked}; it is now a kit: {kit}.", items
        )
    if resolution.outcome == CURRENT:
        return Checked(line, resolution, CURRENT, f"{items[0][0]} × {items[0][1]}", items)
    kinds = sorted({e.interchangeability.replace("_", "-") for e in resolution.chain})
    now = ", ".join(n for n, _q, _p, _c in items)
    return Checked(
        line,
        resolution,
        "superseded",
        f"You asked for {asked}; {now} replaces it ({', '.join(kinds)}).",
        items,
    )


# --- placing ------------------------------------------------------------------------------------


def reserve(session: Session, part_number: str, wanted: int) -> int:
    """Take up to ``wanted`` from stock, atomically; returns how many were taken."""
    norm = normalise(part_number)
    for _attempt in range(50):
        on_hand = session.scalar(select(StockLevel.quantity).where(StockLevel.number_norm == norm))
        if not on_hand or on_hand <= 0:
            return 0
        take = min(on_hand, wanted)
        done = session.execute(
            update(StockLevel)
            .where(StockLevel.number_norm == norm, StockLevel.quantity == on_hand)
            .values(quantity=on_hand - take)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            return take
    raise OrderError("Stock is changing too fast to reserve; please try again.")


def place(
    session: Session,
    user: User,
    asked: list[Asked],
    *,
    reference: str | None = None,
    kind: str = "paid",
    job: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[Order, bool]:
    """Place an order for ``asked``; returns it and whether it is new (an idempotency key seen
    before returns the order it placed).

    :raises OrderError: naming every line that cannot be ordered (unknown, no longer available,
        conditional without a serial); nothing is placed.
    """
    if user.centre_id is None:
        raise OrderError("Only people of a service centre can order.")
    earlier = _placed_with(session, user, idempotency_key)
    if earlier is not None:
        return earlier, False
    if not asked:
        raise OrderError("The order has no lines.")
    if len(asked) > MAX_LINES:
        raise OrderError(f"At most {MAX_LINES} lines in one order.")
    report = check(session, asked)
    problems = [
        f"line {c.asked.line or i}: {c.message}"
        for i, c in enumerate(report, start=1)
        if not c.orderable
    ]
    if problems:
        raise OrderError("Nothing was ordered: some lines cannot be ordered.", problems)
    if kind == "warranty" and not (job or "").strip():
        raise OrderError("A warranty order needs the job number or the unit's serial.")
    release = latest_release(session)
    assert release is not None
    now = utcnow()
    order = Order(
        centre_id=user.centre_id,
        placed_by_id=user.id,
        reference=(reference or "").strip() or None,
        kind=kind,
        job=(job or "").strip() or None,
        status=PLACED,
        release_label=release.label,
        idempotency_key=idempotency_key,
        placed_at=now,
        updated_at=now,
    )
    # The order and its key first: a duplicate submission stops here, before taking stock.
    try:
        with session.begin_nested():
            session.add(order)
    except IntegrityError:  # the same key placed concurrently: that order stands
        earlier = _placed_with(session, user, idempotency_key)
        if earlier is None:
            raise
        return earlier, False
    total = Decimal("0")
    priced = True
    currency = None
    wanted: list[OrderItem] = []
    for checked in report:
        line = OrderLine(
            requested=checked.asked.number,
            quantity=checked.asked.quantity,
            outcome=checked.verdict,
            resolution=documents.resolution_document(checked.resolution, release=release.label),
        )
        for number, quantity, price, item_currency in checked.items:
            item = OrderItem(
                part_number=number,
                quantity=quantity,
                reserved=0,
                backordered=quantity,
                unit_price=price,
            )
            line.items.append(item)
            wanted.append(item)
            if price is None:
                priced = False
            else:
                total += price * quantity
            currency = currency or item_currency
        order.lines.append(line)
    # Always in the same (number) order: two orders for the same parts never wait on each other
    # crosswise (PostgreSQL would end one with a deadlock).
    for item in sorted(wanted, key=lambda i: normalise(i.part_number)):
        item.reserved = reserve(session, item.part_number, item.quantity)
        item.backordered = item.quantity - item.reserved
    if kind == "paid" and priced:
        order.total, order.currency = total, currency
    session.flush()
    return order, True


def _placed_with(session: Session, user: User, key: str | None) -> Order | None:
    """The order this user placed with this idempotency key, if any."""
    if not key:
        return None
    return session.scalar(
        select(Order).where(Order.placed_by_id == user.id, Order.idempotency_key == key)
    )


# --- seeing, cancelling, returning --------------------------------------------------------------


def visible_to(user: User) -> Any:
    """The orders a person may see: a technician their own, a manager their centre's, staff
    (admins) all."""
    if user.role == Role.ADMIN:
        return Order.id.is_not(None)
    if user.role == Role.CENTRE_MANAGER:
        return Order.centre_id == user.centre_id
    return and_(Order.placed_by_id == user.id, Order.centre_id == user.centre_id)


def orders_for(session: Session, user: User) -> list[Order]:
    return list(
        session.scalars(
            select(Order)
            .where(visible_to(user))
            .order_by(Order.placed_at.desc())
            .options(selectinload(Order.lines).selectinload(OrderLine.items))
        )
    )


def get_order(session: Session, user: User, order_id: int) -> Order | None:
    return session.scalar(
        select(Order)
        .where(Order.id == order_id, visible_to(user))
        .options(selectinload(Order.lines).selectinload(OrderLine.items))
    )


def cancel(session: Session, order: Order) -> None:
    """Cancel what has not shipped: reserved stock goes back, once (the status changes in the
    same statement that checks it, so two cancels at once give stock back once)."""
    changed = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status.in_((PLACED, PICKING)))
        .values(status=CANCELLED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(order)
        raise OrderError(f"This order is {order.status}: it can no longer be cancelled.")
    for line in order.lines:
        for item in line.items:
            if item.reserved:
                session.execute(
                    update(StockLevel)
                    .where(StockLevel.number_norm == normalise(item.part_number))
                    .values(quantity=StockLevel.quantity + item.reserved)
                )
    session.refresh(order)
    session.flush()


def request_return(
    session: Session,
    order: Order,
    item_id: int,
    *,
    quantity: int,
    reason: str,
    note: str,
    model_number: str | None,
    by: str,
) -> ReturnRequest:
    """Ask to send a delivered part back. A catalogue error is always accepted, and opens an
    item in the engineers' errata queue with the model and the part.

    :raises OrderError: when the item is not in the order, not delivered, or the quantity is
        more than was delivered and not yet returned.
    """
    item = next((i for line in order.lines for i in line.items if i.id == item_id), None)
    if item is None:
        raise OrderError("That part is not in this order.")
    # Locked (PostgreSQL) so that two requests at once cannot both return the last one.
    session.scalar(select(OrderItem.id).where(OrderItem.id == item.id).with_for_update())
    session.refresh(item, ["returns"])
    if order.status != DELIVERED:
        raise OrderError("Only delivered parts can be returned; cancel what has not shipped.")
    if reason not in RETURN_REASONS:
        raise OrderError(f"Choose a reason: {', '.join(RETURN_REASONS.values())}.")
    open_qty = sum(r.quantity for r in item.returns if r.status != "refused")
    if not 1 <= quantity <= item.quantity - open_qty:
        raise OrderError(
            f"At most {item.quantity - open_qty} of {item.part_number} can be returned."
        )
    if reason == "catalogue_error" and not (model_number or "").strip():
        raise OrderError("For a catalogue error, give the model the part was listed for.")
    now = utcnow()
    request = ReturnRequest(
        item=item,
        quantity=quantity,
        reason=reason,
        note=note.strip() or None,
        model_number=(model_number or "").strip() or None,
        status="requested",
        requested_by=by,
        requested_at=now,
    )
    session.add(request)
    if reason == "catalogue_error":
        erratum = errata.report_wrong_fitment(
            session,
            part_number=item.part_number,
            model_number=request.model_number or "",
            ref_no=None,
            release_label=order.release_label,
            note=f"Returned from order {order.id}: {note}".strip(),
            reported_by=by,
        )
        request.status = "accepted"
        request.decided_by = "policy: catalogue errors are always accepted"
        request.decided_at = now
        request.erratum_id = erratum.id
    session.flush()
    return request


# --- the cart -----------------------------------------------------------------------------------


def cart(session: Session, user: User) -> list[CartLine]:
    return list(
        session.scalars(select(CartLine).where(CartLine.user_id == user.id).order_by(CartLine.id))
    )


def add_to_cart(session: Session, user: User, asked: list[Asked]) -> int:
    """Add lines to the cart (the same number again adds to its quantity); returns how many."""
    lines = {normalise(c.requested): c for c in cart(session, user)}
    for item in asked:
        existing = lines.get(normalise(item.number))
        if existing is not None:
            existing.quantity = min(existing.quantity + item.quantity, MAX_QUANTITY)
            existing.serial = item.serial or existing.serial
        else:
            line = CartLine(
                user_id=user.id,
                requested=item.number,
                quantity=item.quantity,
                serial=item.serial,
                added_at=utcnow(),
            )
            session.add(line)
            lines[normalise(item.number)] = line
    session.flush()
    return len(asked)


def cart_asked(lines: list[CartLine]) -> list[Asked]:
    return [Asked(c.requested, c.quantity, c.serial, line=i) for i, c in enumerate(lines, start=1)]


def clear_cart(session: Session, user: User) -> None:
    for line in cart(session, user):
        session.delete(line)
    session.flush()


def set_status(session: Session, order: Order, status: str) -> None:
    """Staff move an order forward (placed → picking → shipped → delivered), or cancel it while
    it has not shipped."""
    if status not in STATUSES:
        raise OrderError(f"Unknown status {status}.")
    if status == CANCELLED:
        cancel(session, order)
        return
    if order.status == CANCELLED:
        raise OrderError("A cancelled order stays cancelled: its stock went back.")
    flow = [PLACED, PICKING, SHIPPED, DELIVERED]
    if flow.index(status) <= flow.index(order.status):
        raise OrderError(f"An order moves forward only: it is {order.status}.")
    order.status = status
    order.updated_at = utcnow()
    session.flush()


def open_returns(session: Session) -> list[ReturnRequest]:
    return list(
        session.scalars(
            select(ReturnRequest)
            .order_by(ReturnRequest.requested_at.desc())
            .options(selectinload(ReturnRequest.item))
        )
    )


def decide_return(
    session: Session, request_id: int, *, decision: str, note: str, by: str
) -> ReturnRequest:
    """Accept, refuse (with a reason) or credit a return."""
    request = session.get(ReturnRequest, request_id)
    if request is None:
        raise OrderError("There is no such return.")
    if decision not in ("accepted", "refused", "credited"):
        raise OrderError("Accept, refuse or credit.")
    if request.status not in ("requested", "accepted") or (
        request.status == "accepted" and decision != "credited"
    ):
        raise OrderError(
            f"This return is {request.status}: only crediting an accepted one remains."
        )
    if decision == "refused" and request.reason == "catalogue_error":
        raise OrderError("A catalogue-error return is always accepted.")
    if decision == "refused" and not note.strip():
        raise OrderError("Say why the return is refused: the technician reads it.")
    request.status = decision
    request.decided_by = by
    request.decided_at = utcnow()
    request.decision_note = note.strip() or None
    session.flush()
    return request
