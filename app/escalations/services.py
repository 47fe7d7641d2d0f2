"""Opening and reading tickets: validation that names each field, a reference, response targets
in business hours, the first tier's queue for the product line, and the acknowledgement."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations import policy
from app.escalations.models import OPEN, PRIORITIES, Ticket, TicketEvent
from app.escalations.sla import Calendar, add_working_time, parse_days, parse_holidays
from app.mail.compose import external_url, queue_mail
from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics.errors import UnknownSession
from parts_catalog.sqltypes import utcnow

AGENTS = (Role.AGENT_TIER1, Role.AGENT_TIER2, Role.ENGINEER, Role.ADMIN)
LIMITS = {"subject": 200, "description": 20_000, "model_number": 40, "serial": 40}


class KeyReused(Exception):
    """An idempotency key already opened a ticket with different content: a new submission that
    carried an old key (the browser's Back button), or a client's bug."""

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket
        super().__init__(f"the key opened {ticket.reference} with other content")


class TicketInvalid(Exception):
    """Field by field, what is wrong with a submission."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def reply_address(ticket: Ticket, person: User) -> str:
    """Where ``person`` replies to mail about ``ticket``: the escalation address with the
    reference and a signature of the ticket *and the person* in its local part
    (``escalations+ESC-2026-000001.<16 hex>@...``). A reply threads even when its subject was
    rewritten and its headers dropped, and posts as its sender only when the address was signed
    for that sender: one taken from another person's mail is held for an agent."""
    local, _, domain = current_app.config["ESCALATION_ADDRESS"].partition("@")
    reference = ticket.reference or ""
    return f"{local}+{reference}.{reply_signature(reference, person.id)}@{domain}"


def reply_signature(reference: str, person_id: int) -> str:
    """16 hex digits binding the reference to the person the address was sent to."""
    return _sign(f"reply:{reference}:{person_id}")[:16]


def legacy_reply_signature(reference: str) -> str:
    """The 10 hex digits of addresses sent before they named their person: they bind only the
    ticket, and were only ever sent to its author."""
    return _sign(reference)[:10]


def _sign(text: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


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


def one_line(text: str) -> str:
    """A subject is one line: line breaks in a mail header would end it (and could add others)."""
    return " ".join(text.split())


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
    :raises KeyReused: the key opened a ticket with other content; nothing is stored.
    """
    earlier = _opened_with(session, author, idempotency_key)
    if earlier is not None:
        return _same(earlier, data), False
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
        subject=one_line(data.subject),
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
        return _same(earlier, data), False
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
    mail_technician(session, ticket, author, "escalation_received", zone=cal.zone)
    session.flush()
    return ticket, True


def mail_technician(
    session: Session, ticket: Ticket, technician: User, template: str, **context: object
) -> None:
    """Mail about a ticket to its technician: its subject, its link, and its reply address."""
    queue_mail(
        session,
        to=technician.email,
        subject=f"[{ticket.reference}] {ticket.subject}",
        template=template,
        ticket=ticket,
        link=external_url("escalations.ticket", reference=ticket.reference),
        reply_to=reply_address(ticket, technician),
        **context,
    )


def _same(earlier: Ticket, data: Submission) -> Ticket:
    if (earlier.subject, earlier.description) != (one_line(data.subject), data.description.strip()):
        raise KeyReused(earlier)
    return earlier


def _opened_with(session: Session, author: User, key: str | None) -> Ticket | None:
    """The ticket this author opened with this idempotency key, if any."""
    if not key:
        return None
    return session.scalar(
        select(Ticket).where(Ticket.author_id == author.id, Ticket.idempotency_key == key)
    )


def sent_by(session: Session, user: User, *, limit: int = 200) -> list[Ticket]:
    """A person's own escalations, newest first; a centre manager's: the whole centre's."""
    query = select(Ticket)
    if user.role == Role.CENTRE_MANAGER and user.centre_id is not None:
        query = query.where(Ticket.centre_id == user.centre_id)
    else:
        query = query.where(Ticket.author_id == user.id)
    return list(session.scalars(query.order_by(Ticket.id.desc()).limit(limit)))


def person_of(user: User) -> policy.Person:
    return policy.Person(id=user.id, role=Role(user.role), centre_id=user.centre_id)


def facts_of(ticket: Ticket) -> policy.TicketFacts:
    return policy.TicketFacts(
        tier=ticket.tier, author_id=ticket.author_id, centre_id=ticket.centre_id
    )


def visible(session: Session, user: User, reference: str) -> Ticket | None:
    """A ticket for whom the policy lets see it (its author, its centre's manager, agents);
    None for anyone else."""
    ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
    if ticket is None or not policy.may(person_of(user), "view", facts_of(ticket)):
        return None
    return ticket
