"""Opening and reading tickets: validation that names each field, a reference, response targets
in business hours, the first tier's queue for the product line, and the acknowledgement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations.models import OPEN, PRIORITIES, RESOLVED, WAITING, Ticket, TicketEvent
from app.escalations.sla import (
    Calendar,
    add_working_time,
    parse_days,
    parse_holidays,
    working_time_between,
)
from app.mail.compose import external_url, queue_mail
from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics.errors import UnknownSession
from parts_catalog.sqltypes import utcnow

AGENTS = (Role.AGENT_TIER1, Role.AGENT_TIER2, Role.ENGINEER, Role.ADMIN)
LIMITS = {"subject": 200, "description": 20_000, "model_number": 40, "serial": 40}


class TicketInvalid(Exception):
    """Field by field, what is wrong with a submission."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def calendar() -> Calendar:
    config = current_app.config
    opens, _, closes = config["BUSINESS_HOURS"].partition("-")
    return Calendar(
        zone=config["BUSINESS_TIMEZONE"],
        opens=time.fromisoformat(opens.strip()),
        closes=time.fromisoformat(closes.strip()),
        weekdays=parse_days(config["BUSINESS_DAYS"].split(",")),
        holidays=parse_holidays(config["BUSINESS_HOLIDAYS"]),
    )


@dataclass(frozen=True)
class Submission:
    subject: str
    description: str
    category: str
    model_number: str
    serial: str | None = None
    priority: str = "normal"
    diagnostic_session: str | None = None


def validate(data: Submission) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in ("subject", "description", "category", "model_number"):
        if not str(getattr(data, name) or "").strip():
            errors[name] = "Required."
    for name, limit in LIMITS.items():
        value = getattr(data, name) or ""
        if len(value) > limit:
            errors[name] = f"At most {limit:,} characters (this has {len(value):,})."
    categories = current_app.config["ESCALATION_CATEGORIES"]
    if data.category and data.category not in categories:
        errors["category"] = f"One of: {', '.join(categories)}."
    if data.priority not in PRIORITIES:
        errors["priority"] = f"One of: {', '.join(PRIORITIES)}."
    return errors


def open_ticket(
    session: Session, author: User, data: Submission, *, idempotency_key: str | None = None
) -> tuple[Ticket, bool]:
    """Open a ticket in the tier-1 queue of its product line, with its targets, and queue the
    acknowledgement mail in the same transaction. The same ``idempotency_key`` from the same
    author returns the ticket it opened (a double click, a retried request).

    :raises TicketInvalid: naming every field that is wrong; nothing is stored.
    """
    earlier = _opened_with(session, author, idempotency_key)
    if earlier is not None:
        return earlier, False
    errors = validate(data)
    context: dict[str, Any] | None = None
    if data.diagnostic_session and "diagnostic_session" not in errors:
        try:
            walk = diagnostics.get(session, data.diagnostic_session)
        except UnknownSession:
            errors["diagnostic_session"] = "There is no such diagnostic session."
        else:
            state = diagnostics.state(session, walk)
            context = {
                "tree": walk.revision.tree_id,
                "revision": walk.revision.number,
                "code": walk.code,
                "path": [{"question": s.text, "answer": s.answer} for s in state.path],
                "ended_at": state.node.text,
            }
    if errors:
        raise TicketInvalid(errors)
    facts = diagnostics.model_facts(session, data.model_number)
    now = utcnow()
    cal = calendar()
    config = current_app.config
    ticket = Ticket(
        subject=data.subject.strip(),
        description=data.description.strip(),
        category=data.category,
        priority=data.priority,
        status=OPEN,
        tier="tier1",
        product_line=facts.product_line if facts else None,
        model_number=facts.number if facts else data.model_number.strip(),
        serial=(data.serial or "").strip() or None,
        diagnostic_session=data.diagnostic_session or None,
        context=context,
        author_id=author.id,
        centre_id=author.centre_id,
        idempotency_key=idempotency_key,
        created_at=now,
        first_response_due=add_working_time(
            now, timedelta(hours=config["FIRST_RESPONSE_HOURS"][data.priority]), cal
        ),
        resolution_due=add_working_time(
            now, timedelta(hours=config["RESOLUTION_HOURS"][data.priority]), cal
        ),
    )
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
    except IntegrityError:  # the same key opened concurrently: that ticket stands
        earlier = _opened_with(session, author, idempotency_key)
        if earlier is None:
            raise
        return earlier, False
    ticket.reference = f"ESC-{now:%Y}-{ticket.id:06d}"
    queue = f"the tier-1 queue for {ticket.product_line or 'all products'}"
    ticket.events.append(
        TicketEvent(
            kind="message",
            public=True,
            author=author.email,
            body=ticket.description,
            created_at=now,
        )
    )
    ticket.events.append(
        TicketEvent(
            kind="event",
            public=True,
            author="Benchside",
            body=f"Opened in {queue}.",
            created_at=now,
        )
    )
    queue_mail(
        session,
        to=author.email,
        subject=f"[{ticket.reference}] {ticket.subject}",
        template="escalation_received",
        ticket=ticket,
        zone=cal.zone,
        link=external_url("escalations.ticket", reference=ticket.reference),
    )
    session.flush()
    return ticket, True


def _opened_with(session: Session, author: User, key: str | None) -> Ticket | None:
    """The ticket this author opened with this idempotency key, if any."""
    if not key:
        return None
    return session.scalar(
        select(Ticket).where(Ticket.author_id == author.id, Ticket.idempotency_key == key)
    )


def visible(session: Session, user: User, reference: str) -> Ticket | None:
    """A ticket for its author, its centre's manager, and agents; None for anyone else."""
    ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
    if ticket is None:
        return None
    if ticket.author_id == user.id or user.role in AGENTS:
        return ticket
    if user.role == Role.CENTRE_MANAGER and user.centre_id == ticket.centre_id:
        return ticket
    return None


# --- agents -------------------------------------------------------------------------------------

TIER_OF_ROLE = {
    Role.AGENT_TIER1: "tier1",
    Role.AGENT_TIER2: "tier2",
    Role.ENGINEER: "engineering",
}
NEXT_TIER = {"tier1": "tier2", "tier2": "engineering"}


def queue(session: Session, tier: str, product_line: str | None = None) -> list[Ticket]:
    """Open tickets of a tier, soonest due first."""
    query = select(Ticket).where(Ticket.tier == tier, Ticket.status != RESOLVED)
    if product_line:
        query = query.where(Ticket.product_line == product_line)
    return list(session.scalars(query.order_by(Ticket.first_response_due)))


def respond(
    session: Session, ticket: Ticket, agent: User, text: str, *, internal: bool, waiting: bool
) -> TicketEvent:
    """A public reply (mailed to the technician; the first one meets the first-response target)
    or an internal note (never shown or mailed to the technician)."""
    now = utcnow()
    event = TicketEvent(
        kind="note" if internal else "reply",
        public=not internal,
        author=agent.email,
        body=text.strip(),
        created_at=now,
    )
    ticket.events.append(event)
    if not internal:
        ticket.first_responded_at = ticket.first_responded_at or now
        if waiting:
            pause(ticket, now)
        else:
            resume(ticket, now)
        ticket.status = WAITING if waiting else OPEN
        author = session.get(User, ticket.author_id)
        if author is not None:
            queue_mail(
                session,
                to=author.email,
                subject=f"[{ticket.reference}] {ticket.subject}",
                template="escalation_reply",
                ticket=ticket,
                text=event.body,
                link=external_url("escalations.ticket", reference=ticket.reference),
            )
    session.flush()
    return event


def pause(ticket: Ticket, now: datetime) -> None:
    """Stop the clock: the ticket waits for the technician."""
    ticket.paused_at = ticket.paused_at or now


def resume(ticket: Ticket, now: datetime) -> None:
    """Start the clock again, moving the resolution target by the working time it stood."""
    if ticket.paused_at is None:
        return
    stood = working_time_between(ticket.paused_at, now, calendar())
    ticket.resolution_due = add_working_time(ticket.resolution_due, stood, calendar())
    ticket.paused_at = None


def escalate(session: Session, ticket: Ticket, *, by: str, reason: str) -> str:
    """Send a ticket to the next tier (tier 1 → tier 2 → engineering)."""
    nxt = NEXT_TIER.get(ticket.tier)
    if nxt is None:
        raise TicketInvalid({"tier": "Engineering is the last tier."})
    ticket.tier = nxt
    ticket.assignee_id = None
    ticket.events.append(
        TicketEvent(
            kind="event",
            public=True,
            author=by,
            body=f"Escalated to {nxt}: {reason}".strip(),
            created_at=utcnow(),
        )
    )
    session.flush()
    return nxt


def resolve(session: Session, ticket: Ticket, *, by: str) -> None:
    ticket.status = RESOLVED
    ticket.events.append(
        TicketEvent(kind="event", public=True, author=by, body="Resolved.", created_at=utcnow())
    )
    session.flush()


def sweep(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Flag tickets past their first-response target and send them to the next tier (safe to
    run every minute: a ticket is escalated once per breach)."""
    now = now or utcnow()
    counts = {"breached": 0, "escalated": 0}
    overdue = session.scalars(
        select(Ticket).where(
            Ticket.status == OPEN,
            Ticket.first_responded_at.is_(None),
            Ticket.first_response_due < now,
            Ticket.breached_at.is_(None),
        )
    )
    for ticket in overdue:
        ticket.breached_at = now
        counts["breached"] += 1
        if ticket.tier in NEXT_TIER:
            escalate(session, ticket, by="Benchside", reason="no first response within the target")
            counts["escalated"] += 1
    session.flush()
    return counts
