"""Ordering: what was asked, resolved through the catalogue today, placed with stock reserved
atomically; returns, where a catalogue error is always accepted and reaches the engineers.

Stock is reserved by compare-and-set (``UPDATE ... SET quantity = q - r WHERE quantity = q``),
retried when another order got there first: concurrent orders never oversell, on SQLite or
PostgreSQL, without holding locks across the request.

The core of ordering: no Flask. Functions take the session and the person (a ``User`` row, never
the request's proxy), flush and never commit; the page and the API call the same ones, and who
may do what is :mod:`app.orders.policy`'s answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar, NamedTuple

from sqlalchemy import ColumnElement, and_, case, false, select, true, update
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.exceptions import Conflict, Invalid, NotAllowed, NotFound
from app.idempotency import KeyReused, checked_key, fingerprint, insert_once, replay
from app.mail.mailer import Mailer
from app.notices import services as notices
from app.orders import policy
from app.orders.models import (
    CANCELLED,
    DELIVERED,
    FLOW,
    PICKING,
    PLACED,
    RETURN_REASONS,
    CartLine,
    Order,
    OrderItem,
    OrderKind,
    OrderLine,
    OrderStatus,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from app.roles import Role
from parts_catalog import documents, errata
from parts_catalog.models import StockLevel
from parts_catalog.numbers import normalise
from parts_catalog.services import get_part, latest_release, resolve_number, stock_of
from parts_catalog.sqltypes import utcnow
from parts_catalog.supersession import (
    CONDITIONAL,
    CURRENT,
    KIT,
    NLA,
    NO_LONGER_AVAILABLE,
    Resolution,
)

MAX_LINES = 200
MAX_QUANTITY = 999


__all__ = ["KeyReused"]  # the idempotency helper's refusal, raised by :func:`place`


class OrderError(Invalid):
    """An order (a cart line, a return, a status) that cannot be acted on; ``problems`` names
    each line."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message, errors=self.problems)


class OrderChanged(OrderError, Conflict):
    """Someone changed the order (or the return) between reading it and writing: nothing was
    done, the person looks again."""

    status: ClassVar[int] = 409


# --- who is asking ------------------------------------------------------------------------------


def person_of(user: User) -> policy.Person:
    return policy.Person(id=user.id, role=Role(user.role), centre_id=user.centre_id)


def facts_of(order: Order) -> policy.OrderFacts:
    return policy.OrderFacts(placed_by_id=order.placed_by_id, centre_id=order.centre_id)


# --- reading what was asked ---------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    number: str
    quantity: int
    serial: str | None = None
    line: int = 0  # where it came from, for messages
    #: The orderer read the conditions of a conditional replacement and says they apply.
    acknowledged: bool = False


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


class Item(NamedTuple):
    """A part that ships for a line: number, quantity, unit price, currency, stock on hand."""

    number: str
    quantity: int
    unit_price: Decimal | None
    currency: str | None
    stock: int = 0

    @property
    def backordered(self) -> int:
        return max(self.quantity - max(self.stock, 0), 0)

    @property
    def amount(self) -> Decimal | None:
        return None if self.unit_price is None else self.unit_price * self.quantity


@dataclass
class Checked:
    """One asked line and what the catalogue says to ship for it today."""

    asked: Asked
    resolution: Resolution
    verdict: str  # current, superseded, kit, conditional, no_longer_available, unknown
    message: str
    items: list[Item] = field(default_factory=list)
    #: Conditions of conditional replacements on the way that the orderer must confirm.
    conditions: tuple[str, ...] = ()
    #: Without a serial, a serial range splits what replaces the part: the serial chooses.
    needs_serial: bool = False

    @property
    def orderable(self) -> bool:
        return self.verdict in (CURRENT, "superseded", KIT)

    @property
    def amount(self) -> Decimal | None:
        """What the line costs, or None when a part of it has no price."""
        amounts = [i.amount for i in self.items]
        return None if None in amounts else sum((a for a in amounts if a is not None), Decimal(0))


def totals(report: list[Checked]) -> tuple[dict[str, Decimal], list[str]]:
    """What the report's parts cost, by currency, and the parts that have no price."""
    sums: dict[str, Decimal] = {}
    unpriced: list[str] = []
    for checked in report:
        for item in checked.items:
            if item.amount is None:
                unpriced.append(item.number)
            else:
                currency = item.currency or ""
                sums[currency] = sums.get(currency, Decimal(0)) + item.amount
    return sums, unpriced


def conditions_of(resolution: Resolution, serial: str | None) -> tuple[tuple[str, ...], bool]:
    """The conditions to confirm for a resolution, and whether a serial must choose first.

    A serial decides a ranged row; a conditional row's note beyond its serial range (or with
    none) only the person at the bench can confirm.
    """
    needs_serial = serial is None and any(e.is_ranged for e in resolution.chain)
    conditions: list[str] = []
    for edge in resolution.chain:
        if edge.interchangeability != CONDITIONAL or (serial is not None and edge.is_ranged):
            continue
        note = (edge.note or "conditions apply").strip()
        if note not in conditions:
            conditions.append(note)
    return tuple(conditions), needs_serial


def check(session: Session, asked: list[Asked]) -> list[Checked]:
    """The report shown before ordering: every line resolved, nothing dropped."""
    release = latest_release(session)
    if release is None:
        raise OrderError("The catalogue is empty: nothing can be ordered yet.")
    report = []
    for line in asked:
        resolution = resolve_number(session, line.number, release=release, serial=line.serial)
        conditions, needs_serial = conditions_of(resolution, line.serial)
        if resolution.known and needs_serial:
            ends = "; ".join(f"{i.part_number} for {i.condition}" for i in resolution.result)
            report.append(
                Checked(
                    line,
                    resolution,
                    "conditional",
                    f"{line.number}: what replaces it depends on the unit ({ends}). "
                    "Give the serial number to choose.",
                    [],
                    conditions,
                    needs_serial=True,
                )
            )
            continue
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
        infos = [
            get_part(session, item.part_number, release=release)
            for item in resolution.result
            if item.status != NLA
        ]
        stock = stock_of(session, [info.number_norm for info in infos])
        items = [
            Item(
                info.number,
                item.quantity * line.quantity,
                info.unit_price,
                info.currency,
                stock.get(info.number_norm, 0),
            )
            for info, item in zip(
                infos, [i for i in resolution.result if i.status != NLA], strict=True
            )
        ]
        report.append(_verdict(line, resolution, items, conditions))
    return report


def _verdict(
    line: Asked, resolution: Resolution, items: list[Item], conditions: tuple[str, ...]
) -> Checked:
    asked = line.number
    if not resolution.known:
        return Checked(line, resolution, "unknown", f"{asked} is not in the catalogue.", [])
    if resolution.outcome == NO_LONGER_AVAILABLE or not items:
        return Checked(
            line,
            resolution,
            NO_LONGER_AVAILABLE,
            f"{asked} is no longer available and nothing replaces it.",
            [],
        )
    now = ", ".join(f"{i.number} × {i.quantity}" for i in items)
    if conditions and not line.acknowledged:
        return Checked(
            line,
            resolution,
            "conditional",
            f"{asked}: {now} replaces it only if: {'; '.join(conditions)}. Confirm this "
            'applies to the unit (in the API: "acknowledge_conditions": true on the line).',
            items,
            conditions,
        )
    confirmed = f" Condition confirmed: {'; '.join(conditions)}." if conditions else ""
    if resolution.outcome == KIT:
        return Checked(
            line,
            resolution,
            KIT,
            f"You asked for {asked}; it is now a kit: {now}.{confirmed}",
            items,
            conditions,
        )
    if resolution.outcome == CURRENT:
        return Checked(line, resolution, CURRENT, now, items)
    kinds = sorted({e.interchangeability.replace("_", "-") for e in resolution.chain})
    names = ", ".join(i.number for i in items)
    return Checked(
        line,
        resolution,
        "superseded",
        f"You asked for {asked}; {names} replaces it ({', '.join(kinds)}).{confirmed}",
        items,
        conditions,
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
    before with the same content returns the order it placed). No mail: :func:`place_order` is
    the use case; this is for fixtures and benchmarks.

    :raises OrderError: naming every line that cannot be ordered (unknown, no longer available,
        a serial to give, a condition not confirmed); nothing is placed.
    :raises KeyTooLong: the key is over 80 characters (it is never cut).
    :raises KeyReused: the key placed an order with other content; nothing is placed.
    """
    key = checked_key(idempotency_key)
    allowed = policy.may_order(person_of(user))
    if not allowed or user.centre_id is None:
        # A refusal of what is asked, as it always was (422), rather than of the page (403).
        raise OrderError(allowed.reason or "Only people of a service centre can order.")
    try:
        order_kind = OrderKind(kind)
    except ValueError:
        order_kind = OrderKind.EXCHANGE  # refused just below, with the same words
    if order_kind == OrderKind.EXCHANGE:
        # A replacement unit is ordered by an approved exchange, never by hand.
        raise OrderError("An order is paid or warranty.")
    digest = _fingerprint(asked, reference=reference, kind=order_kind, job=job)
    earlier = _placed_with(session, user, key)
    if earlier is not None:
        return replay(earlier, digest, describe=_describe), False
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
    # A part under a safety notice is ordered once the notice is read (every number of its
    # chain: the old number asked is the new part ordered); here, so the API is held too.
    notices.require_safety_acknowledged(session, user, parts=[a.number for a in asked])
    if order_kind == OrderKind.WARRANTY and not (job or "").strip():
        raise OrderError("A warranty order needs the job number or the unit's serial.")
    release = latest_release(session)
    assert release is not None
    now = utcnow()
    order = Order(
        centre_id=user.centre_id,
        placed_by_id=user.id,
        reference=(reference or "").strip() or None,
        kind=order_kind,
        job=(job or "").strip() or None,
        status=PLACED,
        release_label=release.label,
        idempotency_key=key,
        fingerprint=digest if key else None,
        placed_at=now,
        updated_at=now,
    )
    # The order and its key first: a duplicate submission stops here, before taking stock (the
    # same key placed concurrently: that order stands).
    order, new = insert_once(
        session, order, find=lambda: _placed_with(session, user, key), describe=_describe
    )
    if not new:
        return order, False
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
            acknowledged="; ".join(checked.conditions) if checked.conditions else None,
        )
        for number, quantity, price, item_currency, _stock in checked.items:
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
    if order_kind == OrderKind.PAID and priced:
        order.total, order.currency = total, currency
    session.flush()
    return order, True


def place_order(
    session: Session,
    user: User,
    asked: list[Asked],
    *,
    mailer: Mailer,
    reference: str | None = None,
    kind: str = "paid",
    job: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[Order, bool]:
    """Placing an order, the use case of the page and the API alike: :func:`place`, and the
    confirmation mail in the same transaction (once, however often the key comes back)."""
    order, new = place(
        session,
        user,
        asked,
        reference=reference,
        kind=kind,
        job=job,
        idempotency_key=idempotency_key,
    )
    if new:
        mailer.queue(
            session,
            to=user.email,
            subject=f"Order {order.id} placed",
            template="order_placed",
            order=order,
            link=mailer.link("orders.order", order_id=order.id),
        )
    return order, new


def place_cart(
    session: Session,
    user: User,
    *,
    mailer: Mailer,
    reference: str | None = None,
    kind: str = "paid",
    job: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[Order, bool]:
    """Order what is in the person's cart (:func:`place_order`) and empty it.

    The cart's form carries one key per rendering: sent again once its order emptied the cart
    (a double click), it answers with that order.
    """
    lines = cart(session, user)
    try:
        order, new = place_order(
            session,
            user,
            cart_asked(lines),
            mailer=mailer,
            reference=reference,
            kind=kind,
            job=job,
            idempotency_key=idempotency_key,
        )
    except KeyReused as exc:
        if not lines:
            earlier: Order = exc.record
            return earlier, False
        raise
    if new:
        clear_cart(session, user)
    return order, new


def _fingerprint(
    asked: list[Asked], *, reference: str | None, kind: OrderKind, job: str | None
) -> str:
    """What an order asks for, as a digest: the same content spelled the same way matches."""
    content = {
        "lines": [
            [normalise(a.number), a.quantity, (a.serial or "").strip(), a.acknowledged]
            for a in asked
        ],
        "reference": (reference or "").strip(),
        "kind": kind.value,
        "job": (job or "").strip(),
    }
    return fingerprint(content)


def _describe(order: Order) -> str:
    return f"order {order.id}"


def _placed_with(session: Session, user: User, key: str | None) -> Order | None:
    """The order this user placed with this idempotency key, if any."""
    if not key:
        return None
    return session.scalar(
        select(Order).where(Order.placed_by_id == user.id, Order.idempotency_key == key)
    )


# --- seeing, cancelling, returning --------------------------------------------------------------


def visible_to(user: User) -> ColumnElement[bool]:
    """The orders a person may see (:func:`policy.scope`), as a condition of a query."""
    match policy.scope(person_of(user)):
        case policy.Scope.ALL:
            return true()
        case policy.Scope.CENTRE:
            return Order.centre_id == user.centre_id
        case policy.Scope.OWN:
            return and_(Order.placed_by_id == user.id, Order.centre_id == user.centre_id)
        case _:
            return false()


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
    """The order, if the person may see it."""
    return session.scalar(
        select(Order)
        .where(Order.id == order_id, visible_to(user))
        .options(selectinload(Order.lines).selectinload(OrderLine.items))
    )


def order_for(session: Session, user: User, order_id: int) -> Order:
    """The order, for a person who may see it.

    :raises NotFound: no such order, or not theirs to see (said the same way).
    """
    order = get_order(session, user, order_id)
    if order is None:
        raise NotFound(f"There is no order {order_id} that you can see.")
    return order


def may_return(user: User, order: Order) -> None:
    """:raises NotAllowed: the person does not return parts of this order."""
    decision = policy.may_return(person_of(user), facts_of(order))
    if not decision:
        raise NotAllowed(decision.reason)


def _move(session: Session, order: Order, read: OrderStatus, to: OrderStatus) -> None:
    """Compare-and-set: the status becomes ``to`` only if it is still ``read``, the status this
    change was decided on; otherwise nothing changes and :class:`OrderChanged` says so."""
    changed = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == read)
        .values(status=to, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise OrderChanged(
            f"Order {order.id} changed meanwhile: it was {read}, it is now {order.status}. "
            "Nothing was changed; look at it again."
        )


def cancel(session: Session, order: Order, *, seen: str | None = None) -> None:
    """Cancel what has not shipped: reserved stock goes back, once (the status changes in the
    same statement that checks it, so a cancel racing a cancel or a shipment gives stock back
    only when it won)."""
    read = order.status
    if seen and seen != read:
        raise OrderChanged(
            f"Order {order.id} changed meanwhile: it was {seen}, it is now {read}. "
            "Nothing was changed; look at it again."
        )
    if read not in (PLACED, PICKING):
        raise OrderError(f"This order is {read}: it can no longer be cancelled.")
    _move(session, order, read, CANCELLED)
    for line in order.lines:
        for item in line.items:
            if item.reserved:
                session.execute(
                    update(StockLevel)
                    .where(StockLevel.number_norm == normalise(item.part_number))
                    .values(quantity=StockLevel.quantity + item.reserved)
                )
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
    try:
        why = ReturnReason(reason)
    except ValueError:
        raise OrderError(f"Choose a reason: {', '.join(RETURN_REASONS.values())}.") from None
    open_qty = sum(r.quantity for r in item.returns if r.status != ReturnStatus.REFUSED)
    if not 1 <= quantity <= item.quantity - open_qty:
        raise OrderError(
            f"At most {item.quantity - open_qty} of {item.part_number} can be returned."
        )
    if why == ReturnReason.CATALOGUE_ERROR and not (model_number or "").strip():
        raise OrderError("For a catalogue error, give the model the part was listed for.")
    now = utcnow()
    request = ReturnRequest(
        item=item,
        quantity=quantity,
        reason=why,
        note=note.strip() or None,
        model_number=(model_number or "").strip() or None,
        status=ReturnStatus.REQUESTED,
        requested_by=by,
        requested_at=now,
    )
    session.add(request)
    if why == ReturnReason.CATALOGUE_ERROR:
        erratum = errata.report_wrong_fitment(
            session,
            part_number=item.part_number,
            model_number=request.model_number or "",
            ref_no=None,
            release_label=order.release_label,
            note=f"Returned from order {order.id}: {note}".strip(),
            reported_by=by,
        )
        request.status = ReturnStatus.ACCEPTED
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


def add_to_cart(session: Session, user: User, asked: list[Asked]) -> list[str]:
    """Add lines to the cart; returns what happened to each, in words.

    The same number for the same unit (serial) adds to that line's quantity, and says so
    ("2 added to the 1 already in the cart, now 3"). A confirmed condition covers the whole line
    only if every addition to it was confirmed.

    :raises OrderError: a line would hold more than :data:`MAX_QUANTITY`; nothing is added.
    """
    lines = {(normalise(c.requested), c.serial or ""): c for c in cart(session, user)}
    report: list[str] = []
    totals: dict[tuple[str, str], int] = {}
    for item in asked:
        key = (normalise(item.number), (item.serial or "").strip())
        existing = lines.get(key)
        before = totals.get(key, existing.quantity if existing is not None else 0)
        totals[key] = before + item.quantity
        if totals[key] > MAX_QUANTITY:
            raise OrderError(
                f"{item.number}: {item.quantity} added to the {before} already in the cart "
                f"would make {totals[key]}; a line holds at most {MAX_QUANTITY}. "
                "Nothing was added."
            )
    for item in asked:
        serial = (item.serial or "").strip() or None
        key = (normalise(item.number), serial or "")
        existing = lines.get(key)
        if existing is None:
            line = CartLine(
                user_id=user.id,
                requested=item.number,
                quantity=item.quantity,
                serial=serial,
                acknowledged=item.acknowledged,
                added_at=utcnow(),
            )
            session.add(line)
            lines[key] = line
            report.append(f"{item.number} × {item.quantity} added")
            continue
        had = existing.quantity
        existing.quantity = had + item.quantity
        said = (
            f"{existing.requested}: {item.quantity} added to the {had} already in the cart, "
            f"now {existing.quantity}"
        )
        confirmed = existing.acknowledged and item.acknowledged
        if (existing.acknowledged or item.acknowledged) and not confirmed:
            said += f" (confirm its condition for all {existing.quantity} in the cart)"
        existing.acknowledged = confirmed
        report.append(said)
    session.flush()
    return report


def cart_line_for(session: Session, user: User, line_id: int) -> CartLine:
    """A line of the person's own cart.

    :raises NotFound: no such line, or another person's (said the same way).
    """
    line = session.get(CartLine, line_id)
    if line is None or not policy.owns_cart_line(person_of(user), line.user_id):
        raise NotFound("That line is not in your cart.")
    return line


def acknowledge(session: Session, user: User, line_id: int) -> CartLine:
    """The person confirms that the conditions of a cart line's replacement apply.

    :raises NotFound: the line is not in the person's cart.
    """
    line = cart_line_for(session, user, line_id)
    line.acknowledged = True
    session.flush()
    return line


def set_serial(session: Session, user: User, line_id: int, serial: str | None) -> CartLine:
    """Name the unit a cart line is for: its serial decides ranged replacements. What was
    confirmed for another unit is not confirmed for this one.

    :raises NotFound: the line is not in the person's cart.
    """
    line = cart_line_for(session, user, line_id)
    line.serial = (serial or "").strip() or None
    line.acknowledged = False
    session.flush()
    return line


def remove_from_cart(session: Session, user: User, line_id: int) -> None:
    """:raises NotFound: the line is not in the person's cart."""
    session.delete(cart_line_for(session, user, line_id))
    session.flush()


def reorder(session: Session, user: User, order: Order) -> list[str]:
    """Put an order's lines in the cart again, as they were asked (they resolve as the catalogue
    says today); returns what happened to each line (:func:`add_to_cart`)."""
    again = [Asked(line.requested, line.quantity) for line in order.lines]
    return add_to_cart(session, user, again)


def cart_asked(lines: list[CartLine]) -> list[Asked]:
    return [
        Asked(c.requested, c.quantity, c.serial, line=i, acknowledged=c.acknowledged)
        for i, c in enumerate(lines, start=1)
    ]


def clear_cart(session: Session, user: User) -> None:
    for line in cart(session, user):
        session.delete(line)
    session.flush()


def set_status(session: Session, order: Order, status: str, *, seen: str | None = None) -> None:
    """Staff move an order forward (placed → picking → shipped → delivered), or cancel it while
    it has not shipped. ``seen`` is the status the person decided on (the page they saw).

    :raises OrderChanged: the order is no longer in the status read; nothing changed.
    """
    try:
        wanted = OrderStatus(status)
    except ValueError:
        raise OrderError(f"Unknown status {status}.") from None
    if wanted == CANCELLED:
        cancel(session, order, seen=seen)
        return
    read = order.status
    if seen and seen != read:
        raise OrderChanged(
            f"Order {order.id} changed meanwhile: it was {seen}, it is now {read}. "
            "Nothing was changed; look at it again."
        )
    if read == CANCELLED:
        raise OrderError("A cancelled order stays cancelled: its stock went back.")
    if FLOW.index(wanted) <= FLOW.index(read):
        raise OrderError(f"An order moves forward only: it is {read}.")
    _move(session, order, read, wanted)


def open_returns(session: Session, user: User) -> list[ReturnRequest]:
    """Returns, newest first: every one for admins, the centre's for anyone else."""
    query = (
        select(ReturnRequest)
        .order_by(ReturnRequest.requested_at.desc())
        .options(selectinload(ReturnRequest.item).selectinload(OrderItem.line))
    )
    if not policy.sees_all_returns(person_of(user)):
        query = (
            query.join(ReturnRequest.item)
            .join(OrderItem.line)
            .join(OrderLine.order)
            .where(Order.centre_id == user.centre_id, Order.centre_id.is_not(None))
        )
    return list(session.scalars(query))


def decide_return(
    session: Session, request_id: int, *, decision: str, note: str, by: str
) -> ReturnRequest:
    """Accept, refuse (with a reason) or credit a return."""
    request = session.get(ReturnRequest, request_id)
    if request is None:
        raise OrderError("There is no such return.")
    try:
        decided = ReturnStatus(decision)
    except ValueError:
        decided = ReturnStatus.REQUESTED
    if decided == ReturnStatus.REQUESTED:
        raise OrderError("Accept, refuse or credit.")
    if request.status not in (ReturnStatus.REQUESTED, ReturnStatus.ACCEPTED) or (
        request.status == ReturnStatus.ACCEPTED and decided != ReturnStatus.CREDITED
    ):
        raise OrderError(
            f"This return is {request.status}: only crediting an accepted one remains."
        )
    if decided == ReturnStatus.REFUSED and request.reason == ReturnReason.CATALOGUE_ERROR:
        raise OrderError("A catalogue-error return is always accepted.")
    if decided == ReturnStatus.REFUSED and not note.strip():
        raise OrderError("Say why the return is refused: the technician reads it.")
    # Compare-and-set from the status read: two decisions at once cannot both stand.
    changed = session.execute(
        update(ReturnRequest)
        .where(ReturnRequest.id == request.id, ReturnRequest.status == request.status)
        .values(
            status=decided, decided_by=by, decided_at=utcnow(), decision_note=note.strip() or None
        )
        .execution_options(synchronize_session=False)
    )
    read = request.status
    session.refresh(request)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise OrderChanged(
            f"This return changed meanwhile: it was {read}, it is now {request.status}. "
            "Nothing was changed."
        )
    return request


#: An order on its way: placed and not yet delivered or cancelled.
IN_FLIGHT = (PLACED, PICKING, OrderStatus.SHIPPED)


def in_flight(session: Session, user: User, *, limit: int = 50) -> list[Order]:
    """Orders the person may see that are on their way (placed, picking, shipped), the nearest
    to arriving first: shipped, then picking, then placed, the oldest first within each."""
    nearness = case((Order.status == OrderStatus.SHIPPED, 0), (Order.status == PICKING, 1), else_=2)
    return list(
        session.scalars(
            select(Order)
            .where(visible_to(user), Order.status.in_(IN_FLIGHT))
            .order_by(nearness, Order.placed_at, Order.id)
            .limit(limit)
        )
    )


def pending_returns(session: Session, user: User) -> list[ReturnRequest]:
    """Returns not yet decided, the oldest first: every one for admins, the centre's for anyone
    else (as :func:`open_returns`)."""
    query = (
        select(ReturnRequest)
        .where(ReturnRequest.status == ReturnStatus.REQUESTED)
        .order_by(ReturnRequest.requested_at, ReturnRequest.id)
        .options(selectinload(ReturnRequest.item).selectinload(OrderItem.line))
    )
    if not policy.sees_all_returns(person_of(user)):
        query = (
            query.join(ReturnRequest.item)
            .join(OrderItem.line)
            .join(OrderLine.order)
            .where(Order.centre_id == user.centre_id, Order.centre_id.is_not(None))
        )
    return list(session.scalars(query))
