"""Repairs: opening one for a unit, moving it along, attaching walks, orders and escalations,
redo detection, and the unit's history across centres.

The use cases of the pages and the API alike; no Flask here. Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.auth.models import ServiceCentre, User
from app.escalations.models import Ticket
from app.exceptions import Conflict, Invalid, NotAllowed, NotFound
from app.idempotency import checked_key, fingerprint, replay
from app.models import utcnow
from app.orders.models import Order
from app.repairs import policy
from app.repairs.models import (
    IN_PROGRESS,
    OUTCOMES,
    EventKind,
    ExchangeAuthorisation,
    LinkKind,
    Repair,
    RepairEvent,
    RepairLink,
    RepairStatus,
    SymptomCode,
    UnitReturn,
)
from app.repairs.settings import RepairSettings
from app.storable import CONTROL
from diagnostics import services as diagnostics
from diagnostics.errors import UnknownSession
from diagnostics.models import PUBLISHED, DiagnosticSession, TreeRevision
from parts_catalog.numbers import normalise
from parts_catalog.search_index import stems

MAX_COMPLAINT = 4000
#: Where a repair may go from each status. "Exchanged" is reached by an approved exchange only;
#: an ended repair is closed when the unit is handed back; a closed one is final (a unit back
#: again is a new repair, a redo when it comes back soon).
NEXT: dict[RepairStatus, frozenset[RepairStatus]] = {
    **{
        status: (IN_PROGRESS - {status}) | {RepairStatus.REPAIRED, RepairStatus.RETURNED_UNREPAIRED}
        for status in IN_PROGRESS
    },
    RepairStatus.REPAIRED: frozenset({RepairStatus.CLOSED}),
    RepairStatus.EXCHANGED: frozenset({RepairStatus.CLOSED}),
    RepairStatus.RETURNED_UNREPAIRED: frozenset({RepairStatus.CLOSED}),
    RepairStatus.CLOSED: frozenset(),
}


class RepairError(Invalid):
    """What was asked cannot be done; ``errors`` names each field."""


class RepairNotFound(NotFound):
    def __init__(self, reference: str) -> None:
        # The same words whether it does not exist or is another centre's.
        super().__init__(f"No repair {reference} for you: check the reference.")


class AlreadyOpen(Conflict):
    """The unit has a repair in progress at this centre already."""

    def __init__(self, repair: Repair) -> None:
        self.repair = repair
        super().__init__(
            f"{repair.model_number} {repair.serial} is being repaired here already: "
            f"{repair.reference} ({repair.status.label.lower()}). Continue that repair."
        )


class RepairChanged(Conflict):
    def __init__(self, repair: Repair) -> None:
        super().__init__(
            f"{repair.reference} was changed meanwhile; it is now "
            f"{repair.status.label.lower()}. Nothing was changed: look again and retry."
        )


def person_of(user: User) -> policy.Person:
    return policy.Person(user.id, user.role, user.centre_id)


def facts_of(repair: Repair) -> policy.RepairFacts:
    return policy.RepairFacts(repair.centre_id)


def normal_serial(serial: str) -> str:
    """A serial as it is matched: upper case, separators and spaces removed."""
    return normalise(serial.strip())


def _name(user: User) -> str:
    return user.name or user.email


def _event(repair: Repair, kind: EventKind, text: str, *, by: str, at: datetime) -> None:
    repair.events.append(RepairEvent(kind=kind, by=by, at=at, text=text))


# --- opening ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRepair:
    """What a person types to open a repair."""

    model_number: str
    serial: str
    complaint: str
    purchase_on: date | None = None
    symptom_code: str | None = None
    customer_name: str | None = None
    customer_contact: str | None = None


def _clean(value: str | None) -> str:
    return (value or "").strip()


def check_new(session: Session, asked: NewRepair, *, today: date) -> tuple[str, dict[str, str]]:
    """The model as the catalogue spells it, and every problem with what was typed, by field."""
    errors: dict[str, str] = {}
    model = ""
    typed = _clean(asked.model_number)
    if not typed:
        errors["model_number"] = "Give the model number from the rating plate."
    else:
        facts = diagnostics.model_facts(session, typed)
        if facts is None:
            errors["model_number"] = (
                f"{typed} is not a model in the catalogue: check the rating plate (KDL-55W800C, "
                "say)."
            )
        else:
            model = facts.number
    serial = _clean(asked.serial)
    if not serial:
        errors["serial"] = "Give the unit's serial number."
    elif len(serial) > 40 or not normal_serial(serial) or CONTROL.search(serial):
        errors["serial"] = "A serial number is 1 to 40 letters and digits."
    complaint = _clean(asked.complaint)
    if not complaint:
        errors["complaint"] = "Say what the customer reports."
    elif len(complaint) > MAX_COMPLAINT:
        errors["complaint"] = f"At most {MAX_COMPLAINT} characters."
    if asked.purchase_on is not None and asked.purchase_on > today:
        errors["purchase_date"] = "The purchase date is in the future."
    code = _clean(asked.symptom_code)
    if code:
        known = session.get(SymptomCode, code.upper())
        if known is None or known.retired_at is not None:
            errors["symptom_code"] = f"{code} is not a symptom code in use."
    for name, limit in (("customer_name", 120), ("customer_contact", 200)):
        if len(_clean(getattr(asked, name))) > limit:
            errors[name] = f"At most {limit} characters."
    return model, errors


def open_repair(
    session: Session,
    *,
    by: User,
    asked: NewRepair,
    settings: RepairSettings,
    idempotency_key: str | None = None,
) -> tuple[Repair, bool]:
    """Open the repair of one unit for the person's centre; returns it and whether it is new
    (an idempotency key sent again with the same content answers with its repair).

    A repair of a unit that was repaired (anywhere) within ``settings.redo_days`` of today is a
    redo: it names the earlier repair, and both timelines say so.

    :raises NotAllowed: the person repairs for no centre.
    :raises RepairError: naming every field with a problem; nothing is opened.
    :raises AlreadyOpen: the unit has a repair in progress at the centre.
    """
    allowed = policy.may_open(person_of(by))
    if not allowed or by.centre_id is None:
        raise NotAllowed(allowed.reason or "Only people of a service centre open repairs.")
    key = checked_key(idempotency_key)
    now = utcnow()
    model, errors = check_new(session, asked, today=now.date())
    if errors:
        raise RepairError("The repair was not opened: " + "; ".join(errors.values()), errors=errors)
    serial = _clean(asked.serial)
    digest = fingerprint(
        {
            "model": normalise(model),
            "serial": normal_serial(serial),
            "complaint": _clean(asked.complaint),
            "purchase_on": asked.purchase_on,
            "symptom_code": _clean(asked.symptom_code).upper(),
            "customer": [_clean(asked.customer_name), _clean(asked.customer_contact)],
        }
    )
    earlier = _opened_with(session, by, key)
    if earlier is not None:
        return replay(earlier, digest, describe=_describe), False
    repair = Repair(
        centre_id=by.centre_id,
        technician_id=by.id,
        model_number=model,
        model_norm=normalise(model),
        serial=serial,
        serial_norm=normal_serial(serial),
        purchase_on=asked.purchase_on,
        complaint=_clean(asked.complaint),
        symptom_code=_clean(asked.symptom_code).upper() or None,
        customer_name=_clean(asked.customer_name) or None,
        customer_contact=_clean(asked.customer_contact) or None,
        status=RepairStatus.OPEN,
        opened_at=now,
        updated_at=now,
        idempotency_key=key,
        fingerprint=digest if key else None,
    )
    try:
        with session.begin_nested():
            session.add(repair)
            session.flush()
    except IntegrityError:
        # Lost a race: to the same key (answer with its repair), or to a colleague opening the
        # same unit (say which repair is open).
        again = _opened_with(session, by, key)
        if again is not None:
            return replay(again, digest, describe=_describe), False
        standing = in_progress_for(
            session, centre_id=by.centre_id, model_number=model, serial=serial
        )
        if standing is None:
            raise
        raise AlreadyOpen(standing) from None
    repair.reference = f"REP-{now:%Y}-{repair.id:06d}"
    _event(repair, EventKind.OPENED, f"Opened: {repair.complaint}", by=_name(by), at=now)
    _flag_redo(session, repair, settings=settings, now=now)
    session.flush()
    return repair, True


def _describe(repair: Repair) -> str:
    return repair.reference or "a repair"


def _opened_with(session: Session, user: User, key: str | None) -> Repair | None:
    if not key:
        return None
    return session.scalar(
        select(Repair).where(Repair.technician_id == user.id, Repair.idempotency_key == key)
    )


def in_progress_for(
    session: Session, *, centre_id: int, model_number: str, serial: str
) -> Repair | None:
    """The centre's repair in progress of a unit, if any (what starting a walk or an order for
    that unit offers to attach to)."""
    return session.scalar(
        select(Repair).where(
            Repair.centre_id == centre_id,
            Repair.model_norm == normalise(model_number),
            Repair.serial_norm == normal_serial(serial),
            Repair.status.in_(IN_PROGRESS),
        )
    )


def _flag_redo(
    session: Session, repair: Repair, *, settings: RepairSettings, now: datetime
) -> None:
    """Name the unit's last repaired repair when it ended within the redo window."""
    earlier = session.scalar(
        select(Repair)
        .where(
            Repair.model_norm == repair.model_norm,
            Repair.serial_norm == repair.serial_norm,
            Repair.id != repair.id,
            Repair.outcome == RepairStatus.REPAIRED,
            Repair.closed_at.is_not(None),
        )
        .order_by(Repair.closed_at.desc())
        .limit(1)
    )
    if earlier is None or earlier.closed_at is None:
        return
    days = (now.date() - earlier.closed_at.date()).days
    if days > settings.redo_days:
        return
    repair.redo_of = earlier
    centre = session.get(ServiceCentre, repair.centre_id)
    _event(
        repair,
        EventKind.REDO,
        f"A redo: this unit was repaired {days} days ago ({earlier.reference}).",
        by="Benchside",
        at=now,
    )
    _event(
        earlier,
        EventKind.REDO,
        f"Back within {days} days: {repair.reference} opened"
        + (f" at {centre.name}." if centre else "."),
        by="Benchside",
        at=now,
    )


# --- reading ------------------------------------------------------------------------------------


def get(session: Session, reference: str) -> Repair | None:
    return session.scalar(
        select(Repair)
        .where(Repair.reference == reference.strip().upper())
        .options(selectinload(Repair.events), selectinload(Repair.links))
    )


def repair_for(session: Session, user: User, reference: str) -> Repair:
    """The repair of ``reference`` if ``user`` may see it.

    :raises RepairNotFound: none, or another centre's (said the same way).
    """
    repair = get(session, reference)
    if repair is None or not policy.sees(person_of(user), facts_of(repair)):
        raise RepairNotFound(reference)
    return repair


def repair_to_work_on(session: Session, user: User, reference: str) -> Repair:
    """:raises RepairNotFound: as :func:`repair_for`. :raises NotAllowed: seen, not its centre's."""
    repair = repair_for(session, user, reference)
    if not policy.may_work_on(person_of(user), facts_of(repair)):
        raise NotAllowed("Only the repair's own service centre works on it.")
    return repair


def open_repairs(session: Session, user: User, *, mine: bool = False) -> list[Repair]:
    """Repairs in progress at the person's centre (``mine``: those they opened)."""
    if user.centre_id is None:
        return []
    query = select(Repair).where(Repair.centre_id == user.centre_id, Repair.status.in_(IN_PROGRESS))
    if mine:
        query = query.where(Repair.technician_id == user.id)
    return list(session.scalars(query.order_by(Repair.opened_at.desc())))


def centre_repairs(session: Session, user: User, *, limit: int = 200) -> list[Repair]:
    """The centre's repairs, newest first."""
    if user.centre_id is None:
        return []
    return list(
        session.scalars(
            select(Repair)
            .where(Repair.centre_id == user.centre_id)
            .order_by(Repair.opened_at.desc())
            .limit(limit)
        )
    )


def redone_by(session: Session, repair: Repair) -> list[Repair]:
    """Later repairs that are redos of this one."""
    return list(session.scalars(select(Repair).where(Repair.redo_of_id == repair.id)))


def repair_of(session: Session, kind: LinkKind, ref: str) -> Repair | None:
    """The repair a walk, an order or a ticket is part of."""
    return session.scalar(
        select(Repair).join(RepairLink).where(RepairLink.kind == kind, RepairLink.ref == ref)
    )


# --- moving along -------------------------------------------------------------------------------


def change_status(
    session: Session, repair: Repair, *, to: str, seen: str | None, by: User, note: str = ""
) -> None:
    """Move a repair to ``to``, from the status the person saw (``seen``: two colleagues at
    once, or a stale page, never both win).

    :raises RepairError: not a status, or not reachable from here.
    :raises RepairChanged: it is no longer ``seen``.
    """
    if not policy.may_work_on(person_of(by), facts_of(repair)):
        raise NotAllowed("Only the repair's own service centre works on it.")
    try:
        target = RepairStatus(to)
    except ValueError:
        raise RepairError(
            f"{to} is not a status of a repair.",
            errors={"status": "Choose a status from the list."},
        ) from None
    try:
        read = RepairStatus(seen) if seen else repair.status
    except ValueError:
        # The status read, not the one asked for, is what is wrong: say so of that field.
        raise RepairError(
            f"{seen} is not a status of a repair.",
            errors={"seen": "The status as you read it (open, waiting_parts, ...)."},
        ) from None
    if target == RepairStatus.EXCHANGED:
        raise RepairError(
            "A repair is exchanged by an approved exchange: request one from the repair.",
            errors={"status": "Request an exchange instead."},
        )
    if target not in NEXT[read]:
        raise RepairError(
            f"A repair that is {read.label.lower()} cannot become {target.label.lower()}.",
            errors={"status": "Not from here."},
        )
    now = utcnow()
    values: dict[str, Any] = {"status": target, "updated_at": now}
    if target in OUTCOMES:
        values["outcome"] = target
        if repair.closed_at is None:
            values["closed_at"] = now
    done = session.execute(
        update(Repair)
        .where(Repair.id == repair.id, Repair.status == read)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(repair)
        raise RepairChanged(repair)
    session.refresh(repair)
    text = f"{read.label} → {target.label}"
    if note.strip():
        text += f": {note.strip()}"
    _event(repair, EventKind.STATUS, text, by=_name(by), at=now)
    session.flush()


def add_note(session: Session, repair: Repair, *, text: str, by: User) -> None:
    if not policy.may_work_on(person_of(by), facts_of(repair)):
        raise NotAllowed("Only the repair's own service centre works on it.")
    body = text.strip()
    if not body:
        raise RepairError("The note is empty.", errors={"note": "Write the note."})
    if len(body) > MAX_COMPLAINT:
        raise RepairError(
            "The note is too long.", errors={"note": f"At most {MAX_COMPLAINT} characters."}
        )
    now = utcnow()
    _event(repair, EventKind.NOTE, body, by=_name(by), at=now)
    repair.updated_at = now
    session.flush()


# --- attaching walks, orders, tickets -----------------------------------------------------------


def _link_kind(kind: str) -> LinkKind:
    try:
        return LinkKind(kind)
    except ValueError:
        raise RepairError(
            "A repair takes walks, orders and escalations.",
            errors={"kind": "walk, order or ticket"},
        ) from None


def _describe_attached(session: Session, repair: Repair, kind: LinkKind, ref: str) -> str:
    """What ``ref`` is, checked to be the repair centre's and of the same unit.

    :raises RepairError: it does not exist, is another centre's, or is of another unit.
    """
    missing = RepairError(
        f"There is no {kind.value} {ref} of your centre.", errors={"ref": "Check the number."}
    )
    unit = f"{repair.model_number} {repair.serial}"
    if kind == LinkKind.WALK:
        try:
            walk = diagnostics.get(session, ref)
        except UnknownSession:
            raise missing from None
        if walk.centre_id != repair.centre_id:
            raise missing
        if walk.model_number and normalise(walk.model_number) != repair.model_norm:
            raise RepairError(
                f"That walk is of {walk.model_number}, the repair of {unit}.",
                errors={"ref": "Another unit's walk."},
            )
        if walk.serial and normal_serial(walk.serial) != repair.serial_norm:
            raise RepairError(
                f"That walk is of serial {walk.serial}, the repair of {unit}.",
                errors={"ref": "Another unit's walk."},
            )
        return f"Walk: {walk.revision.title}"
    if kind == LinkKind.ORDER:
        order = session.get(Order, int(ref)) if ref else None
        if order is None or order.centre_id != repair.centre_id:
            raise missing
        return f"Order {order.id} ({order.kind.value})"
    ticket = session.scalar(select(Ticket).where(Ticket.reference == ref))
    if ticket is None or ticket.centre_id != repair.centre_id:
        raise missing
    if normalise(ticket.model_number) != repair.model_norm:
        raise RepairError(
            f"{ticket.reference} is about {ticket.model_number}, the repair of {unit}.",
            errors={"ref": "Another unit's escalation."},
        )
    return f"Escalation {ticket.reference}: {ticket.subject}"


#: Order ids are 32-bit integers: a larger number names no order (PostgreSQL would refuse to
#: compare it, a 500).
MAX_ORDER_ID = 2**31 - 1


def _order_ref(ref: str) -> str:
    """An order's id as it is linked ("007" and "7" are one order), or "" for a number no order
    has: ``str.isdigit`` also takes "²" and "٣", which ``int`` refuses or reads as 3."""
    if not (ref.isascii() and ref.isdigit()) or not 0 < int(ref) <= MAX_ORDER_ID:
        return ""
    return str(int(ref))


EVENT_OF_LINK = {
    LinkKind.WALK: EventKind.WALK,
    LinkKind.ORDER: EventKind.ORDER,
    LinkKind.TICKET: EventKind.TICKET,
}


def attach(session: Session, repair: Repair, *, kind: str, ref: str, by: User) -> RepairLink:
    """Make a walk, an order or an escalation part of a repair (again: nothing changes).

    :raises RepairError: it is not the centre's, not of this unit, or not found.
    :raises Conflict: it is part of another repair.
    """
    if not policy.may_work_on(person_of(by), facts_of(repair)):
        raise NotAllowed("Only the repair's own service centre works on it.")
    link_kind = _link_kind(kind)
    ref = ref.strip()
    if link_kind == LinkKind.TICKET:
        ref = ref.upper()
    elif link_kind == LinkKind.ORDER:
        if not _order_ref(ref):
            raise RepairError(
                f"There is no order {ref} of your centre.", errors={"ref": "Check the number."}
            )
        ref = _order_ref(ref)
    what = _describe_attached(session, repair, link_kind, ref)
    existing = session.scalar(
        select(RepairLink).where(RepairLink.kind == link_kind, RepairLink.ref == ref)
    )
    if existing is None:
        now = utcnow()
        link = RepairLink(kind=link_kind, ref=ref, linked_by=_name(by), linked_at=now)
        try:
            with session.begin_nested():
                repair.links.append(link)
                session.flush()
        except IntegrityError:
            existing = session.scalar(
                select(RepairLink).where(RepairLink.kind == link_kind, RepairLink.ref == ref)
            )
            if existing is None:
                raise
        else:
            _event(repair, EVENT_OF_LINK[link_kind], what, by=_name(by), at=now)
            repair.updated_at = now
            session.flush()
            return link
    if existing.repair_id != repair.id:
        other = session.get(Repair, existing.repair_id)
        raise Conflict(
            f"That {link_kind.value} is part of {other.reference if other else 'another repair'}."
        )
    return existing


def trees_for(session: Session, repair: Repair) -> list[TreeRevision]:
    """The published trees for the repair's model, those whose title, symptoms and codes share
    the most words with the complaint (and its symptom code) first."""
    code = session.get(SymptomCode, repair.symptom_code) if repair.symptom_code else None
    said = set(stems(" ".join([repair.complaint, code.description if code else ""])))

    def shared(revision: TreeRevision) -> int:
        tree = diagnostics.tree_of(revision)
        return len(said & set(stems(" ".join([tree.title, *tree.symptoms, *tree.codes]))))

    found = diagnostics.trees_for_model(session, repair.model_number)
    return sorted(found, key=lambda r: (-shared(r), r.title))


def start_walk(
    session: Session, repair: Repair, *, tree_id: str, by: User, code: str | None = None
) -> DiagnosticSession:
    """Start a walk of a published tree for the repair's unit, attached to it."""
    if not policy.may_work_on(person_of(by), facts_of(repair)):
        raise NotAllowed("Only the repair's own service centre works on it.")
    if not repair.status.in_progress:
        raise RepairError(
            f"{repair.reference} is {repair.status.label.lower()}: open a new repair.",
            errors={"tree": "The repair has ended."},
        )
    revision = diagnostics.get_revision(session, tree_id)
    if revision.status != PUBLISHED:
        raise RepairError(
            f"{tree_id} is not published.", errors={"tree": "Choose a published tree."}
        )
    walk = diagnostics.start(
        session,
        revision,
        by=by.email,
        centre_id=repair.centre_id,
        model_number=repair.model_number,
        serial=repair.serial,
        code=code,
    )
    attach(session, repair, kind=LinkKind.WALK, ref=walk.id, by=by)
    return walk


# --- a unit's history ---------------------------------------------------------------------------


@dataclass
class WalkEntry:
    id: str
    tree: str
    started_at: datetime
    outcome: str | None  # the terminal's kind, or None while it is under way
    end: str  # the node it ended at (or stands at)
    fixed: bool | None
    own: bool  # the viewer's centre's (its link may be followed)


@dataclass
class PartEntry:
    part_number: str
    quantity: int
    ordered_at: datetime
    order_id: int | None  # only for the viewer's centre


@dataclass
class ExchangeEntry:
    number: str | None
    status: str
    requested_at: datetime
    rma: str | None


@dataclass
class RepairEntry:
    reference: str | None  # None for another centre's repair (it is not the viewer's to open)
    centre: str
    own: bool
    opened_at: datetime
    closed_at: datetime | None
    status: RepairStatus
    outcome: RepairStatus | None
    symptom_code: str | None
    complaint: str | None  # free text may hold customer details: the centre's own only
    customer_name: str | None
    customer_contact: str | None
    redo_of: str | None
    redo: bool
    walks: list[WalkEntry] = field(default_factory=list)
    parts: list[PartEntry] = field(default_factory=list)
    exchanges: list[ExchangeEntry] = field(default_factory=list)


@dataclass
class UnitHistory:
    model_number: str
    serial: str
    known_model: bool
    repairs: list[RepairEntry]
    walks: list[WalkEntry]  # walks of the unit that are part of no repair


def history(session: Session, *, viewer: User, model_number: str, serial: str) -> UnitHistory:
    """Everything done to one unit, across centres, newest first: repairs (another centre's
    without the customer's details or the complaint's free text), walks and how they ended,
    parts ordered for its repairs, exchanges."""
    person = person_of(viewer)
    facts = diagnostics.model_facts(session, model_number)
    model = facts.number if facts else model_number.strip()
    model_norm, serial_norm = normalise(model), normal_serial(serial)
    repairs = list(
        session.scalars(
            select(Repair)
            .where(Repair.model_norm == model_norm, Repair.serial_norm == serial_norm)
            .options(selectinload(Repair.links), selectinload(Repair.redo_of))
            .order_by(Repair.opened_at.desc())
        )
    )
    centres = {c.id: c.name for c in session.scalars(select(ServiceCentre))}
    walks = {
        w.id: w
        for w in session.scalars(
            select(DiagnosticSession)
            .where(
                or_(
                    DiagnosticSession.model_number == model,
                    DiagnosticSession.model_number == model_number.strip(),
                )
            )
            .options(
                selectinload(DiagnosticSession.revision), selectinload(DiagnosticSession.answers)
            )
        )
        if w.serial and normal_serial(w.serial) == serial_norm
    }
    redone = {r.redo_of_id for r in repairs if r.redo_of_id is not None}
    entries = []
    attached: set[str] = set()
    for repair in repairs:
        facts_ = facts_of(repair)
        own = policy.sees(person, facts_)
        customer = policy.sees_customer(person, facts_)
        entry = RepairEntry(
            reference=repair.reference if own else None,
            centre=centres.get(repair.centre_id, ""),
            own=own,
            opened_at=repair.opened_at,
            closed_at=repair.closed_at,
            status=repair.status,
            outcome=repair.outcome,
            symptom_code=repair.symptom_code,
            complaint=repair.complaint if customer else None,
            customer_name=repair.customer_name if customer else None,
            customer_contact=repair.customer_contact if customer else None,
            redo_of=(repair.redo_of.reference if repair.redo_of and own else None),
            redo=repair.redo_of_id is not None or repair.id in redone,
        )
        for link in repair.links:
            if link.kind == LinkKind.WALK:
                walk = walks.get(link.ref) or _walk(session, link.ref)
                if walk is not None:
                    attached.add(walk.id)
                    entry.walks.append(_walk_entry(walk, own=own))
            elif link.kind == LinkKind.ORDER and link.ref.isdigit():
                order = session.get(Order, int(link.ref))
                if order is not None:
                    entry.parts.extend(
                        PartEntry(
                            item.part_number,
                            item.quantity,
                            order.placed_at,
                            order.id if own else None,
                        )
                        for line in order.lines
                        for item in line.items
                    )
        for authorisation in session.scalars(
            select(ExchangeAuthorisation)
            .where(ExchangeAuthorisation.repair_id == repair.id)
            .order_by(ExchangeAuthorisation.id)
        ):
            unit_return = authorisation.unit_return
            entry.exchanges.append(
                ExchangeEntry(
                    authorisation.number if own else None,
                    authorisation.status.value,
                    authorisation.requested_at,
                    unit_return.rma if unit_return and own else None,
                )
            )
        entries.append(entry)
    loose = [
        _walk_entry(w, own=w.centre_id == viewer.centre_id or viewer.centre_id is None)
        for w in sorted(walks.values(), key=lambda w: w.started_at, reverse=True)
        if w.id not in attached
    ]
    return UnitHistory(model, serial.strip(), facts is not None, entries, loose)


def _walk(session: Session, walk_id: str) -> DiagnosticSession | None:
    try:
        return diagnostics.get(session, walk_id)
    except UnknownSession:
        return None


def _walk_entry(walk: DiagnosticSession, *, own: bool) -> WalkEntry:
    node = diagnostics.position(walk)
    return WalkEntry(
        id=walk.id,
        tree=walk.revision.title,
        started_at=walk.started_at,
        outcome=walk.outcome,
        end=node.text,
        fixed=walk.fixed,
        own=own,
    )


def unit_returns_due(session: Session, centre_id: int) -> list[UnitReturn]:
    """Defective units a centre owes back for exchanges (not yet received), soonest due first."""
    return list(
        session.scalars(
            select(UnitReturn)
            .join(UnitReturn.authorisation)
            .join(ExchangeAuthorisation.repair)
            .where(Repair.centre_id == centre_id, UnitReturn.received_on.is_(None))
            .options(
                selectinload(UnitReturn.authorisation).selectinload(ExchangeAuthorisation.repair)
            )
            .order_by(UnitReturn.due_on, UnitReturn.id)
        )
    )
