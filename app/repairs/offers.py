"""What a walk, an order or an escalation says of the repair of its unit: "part of REP-..."
when it is attached to one, or the centre's repair in progress of the same unit, offered to
attach it to.

Walks and orders are started without a repair more often than not (the unit came in, the
technician went straight to Diagnose); the offer joins them up afterwards. No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations.models import Ticket
from app.exceptions import AppError
from app.orders.models import Order, OrderKind
from app.repairs import policy, services
from app.repairs.models import IN_PROGRESS, LinkKind, Repair
from diagnostics.models import DiagnosticSession


@dataclass(frozen=True)
class Offer:
    """A repair shown with a walk, an order or a ticket: ``attached`` it is part of it; else
    it is the unit's repair in progress at the person's centre, which they may attach to."""

    repair: Repair
    attached: bool


def _shown(user: User, repair: Repair | None, *, attached: bool) -> Offer | None:
    if repair is None or not policy.sees(services.person_of(user), services.facts_of(repair)):
        return None
    return Offer(repair, attached)


def _may_attach(user: User, centre_id: int | None) -> bool:
    person = services.person_of(user)
    return centre_id is not None and policy.may_work_on(person, policy.RepairFacts(centre_id))


def for_walk(session: Session, user: User, walk: DiagnosticSession) -> Offer | None:
    """The repair a walk is part of, or the one in progress for its unit at the person's
    centre (a walk of that centre, with a model and a serial)."""
    part = services.repair_of(session, LinkKind.WALK, walk.id)
    if part is not None:
        return _shown(user, part, attached=True)
    if not (walk.model_number and walk.serial) or walk.centre_id != user.centre_id:
        return None
    if not _may_attach(user, walk.centre_id) or walk.centre_id is None:
        return None
    standing = services.in_progress_for(
        session, centre_id=walk.centre_id, model_number=walk.model_number, serial=walk.serial
    )
    return _shown(user, standing, attached=False)


def for_order(session: Session, user: User, order: Order) -> list[Offer]:
    """The repair an order is part of (an exchange order names its repair as its job), or the
    repairs in progress at the order's centre whose reference or serial is the order's job."""
    part = services.repair_of(session, LinkKind.ORDER, str(order.id))
    if part is None and order.kind == OrderKind.EXCHANGE and order.job:
        part = services.get(session, order.job)
    if part is not None:
        shown = _shown(user, part, attached=True)
        return [shown] if shown else []
    job = (order.job or "").strip()
    if not job or not _may_attach(user, order.centre_id) or order.centre_id != user.centre_id:
        return []
    candidates = session.scalars(
        select(Repair)
        .where(
            Repair.centre_id == order.centre_id,
            Repair.status.in_(IN_PROGRESS),
            or_(Repair.reference == job.upper(), Repair.serial_norm == services.normal_serial(job)),
        )
        .order_by(Repair.opened_at)
    ).all()
    return [Offer(r, attached=False) for r in candidates]


def for_ticket(session: Session, user: User, ticket: Ticket) -> Offer | None:
    """The repair a ticket is part of, if the person may see it."""
    if not ticket.reference:
        return None
    return _shown(
        user, services.repair_of(session, LinkKind.TICKET, ticket.reference), attached=True
    )


def attach_ticket_from_walk(session: Session, ticket: Ticket, *, by: User) -> Repair | None:
    """A ticket opened from a walk that is part of a repair becomes part of that repair too.

    Best effort: the ticket stands whatever happens here (another unit's model typed on the
    form, a person of no centre, a repair that ended); nothing of a refused attach is kept.
    """
    if not ticket.diagnostic_session or not ticket.reference:
        return None
    repair = services.repair_of(session, LinkKind.WALK, ticket.diagnostic_session)
    if repair is None or not policy.may_work_on(services.person_of(by), services.facts_of(repair)):
        return None
    try:
        with session.begin_nested():
            services.attach(session, repair, kind=LinkKind.TICKET, ref=ticket.reference, by=by)
    except AppError:
        return None
    return repair


def attach_order_to_job(session: Session, order: Order, *, by: User) -> Repair | None:
    """An order placed with a repair's reference as its job becomes part of that repair (the
    centre's, in progress). Best effort, as :func:`attach_ticket_from_walk`: the order stands."""
    job = (order.job or "").strip().upper()
    if not job.startswith("REP-"):
        return None
    repair = services.get(session, job)
    if repair is None or not repair.status.in_progress or repair.centre_id != order.centre_id:
        return None
    try:
        with session.begin_nested():
            services.attach(session, repair, kind=LinkKind.ORDER, ref=str(order.id), by=by)
    except AppError:
        return None
    return repair


def repair_of_walk(session: Session, user: User, walk_id: str | None) -> Repair | None:
    """The repair the walk an escalation form was opened from is part of (to say so on it)."""
    if not walk_id:
        return None
    offer = _shown(user, services.repair_of(session, LinkKind.WALK, walk_id), attached=True)
    return offer.repair if offer else None
