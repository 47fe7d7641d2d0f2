"""Opening and reading tickets: validation that names each field, a reference, response targets
in business hours, the first tier's queue for the product line, and the acknowledgement."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations import policy
from app.escalations.models import (
    OPEN,
    PRIORITIES,
    RESOLVED,
    WAITING,
    EscalationDraft,
    EventKind,
    Priority,
    Ticket,
    TicketEvent,
    Tier,
)
from app.escalations.settings import EscalationSettings
from app.escalations.sla import add_working_time
from app.exceptions import Invalid, NotAllowed, NotFound
from app.idempotency import KeyReused, checked_key, fingerprint, insert_once, replay
from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics.errors import UnknownSession
from diagnostics.models import DiagnosticSession, TreeRevision
from parts_catalog.sqltypes import utcnow

__all__ = ["KeyReused"]  # the idempotency helper's, raised by open_ticket

AGENTS = (Role.AGENT_TIER1, Role.AGENT_TIER2, Role.ENGINEER, Role.ADMIN)
#: What a draft keeps of the form.
DRAFT_FIELDS = ("subject", "category", "model_number", "serial", "priority", "description")
LIMITS = {"subject": 200, "description": 20_000, "model_number": 40, "serial": 40}


class TicketInvalid(Invalid):
    """Field by field, what is wrong with a submission (or, for the workflow, with an action on
    a ticket in its present state)."""

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        super().__init__(message or "Some fields are not valid; see errors.", errors=errors)
        self.errors: dict[str, str] = errors

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())


class TicketNotFound(NotFound):
    """No ticket of that reference, or none this person may see (said the same way)."""

    def __init__(self) -> None:
        # The words of any address that names nothing: whether it exists must not show.
        super().__init__(
            "There is nothing at this address. Check it, or start again from the menu."
        )


def reply_address(ticket: Ticket, person: User, *, settings: EscalationSettings) -> str:
    """Where ``person`` replies to mail about ``ticket``: the escalation address with the
    reference and a signature of the ticket *and the person* in its local part
    (``escalations+ESC-2026-000001.<16 hex>@...``). A reply threads even when its subject was
    rewritten and its headers dropped, and posts as its sender only when the address was signed
    for that sender: one taken from another person's mail is held for an agent."""
    local, _, domain = settings.address.partition("@")
    reference = ticket.reference or ""
    return (
        f"{local}+{reference}.{reply_signature(reference, person.id, settings=settings)}@{domain}"
    )


def reply_signature(reference: str, person_id: int, *, settings: EscalationSettings) -> str:
    """16 hex digits binding the reference to the person the address was sent to."""
    return settings.sign(f"reply:{reference}:{person_id}")[:16]


def legacy_reply_signature(reference: str, *, settings: EscalationSettings) -> str:
    """The 10 hex digits of addresses sent before they named their person: they bind only the
    ticket, and were only ever sent to its author."""
    return settings.sign(reference)[:10]


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


def validate(data: Submission, categories: tuple[str, ...]) -> dict[str, str]:
    """What is wrong with a submission, by field (empty: nothing)."""
    errors: dict[str, str] = {}
    for name in ("subject", "description", "category", "model_number"):
        if not str(getattr(data, name) or "").strip():
            errors[name] = "Required."
    for name, limit in LIMITS.items():
        value = getattr(data, name) or ""
        if len(value) > limit:
            errors[name] = f"At most {limit:,} characters (this has {len(value):,})."
    if data.category and data.category not in categories:
        errors["category"] = f"One of: {', '.join(categories)}."
    if data.priority not in PRIORITIES:
        errors["priority"] = f"One of: {', '.join(PRIORITIES)}."
    return errors


def open_ticket(
    session: Session,
    author: User,
    data: Submission,
    *,
    settings: EscalationSettings,
    idempotency_key: str | None = None,
) -> tuple[Ticket, bool]:
    """Open a ticket in the tier-1 queue of its product line, with its targets, and queue the
    acknowledgement mail in the same transaction. Returns the ticket and whether it is new: the
    same ``idempotency_key`` from the same author with the same content returns the ticket it
    opened (a double click, a retried request).

    :raises TicketInvalid: naming every field that is wrong; nothing is stored.
    :raises KeyReused: the key opened a ticket with other content; nothing is stored.
    :raises KeyTooLong: the key is longer than 80 characters (it is never cut).
    """
    key = checked_key(idempotency_key)
    digest = fingerprint(_content(data))
    earlier = _opened_with(session, author, key)
    if earlier is not None:
        return replay(earlier, digest, describe=_describe), False
    errors = validate(data, settings.categories)
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
    cal = settings.calendar
    priority = Priority(data.priority)
    ticket = Ticket(
        subject=one_line(data.subject),
        description=data.description.strip(),
        category=data.category,
        priority=priority,
        status=OPEN,
        tier=Tier.TIER1,
        product_line=facts.product_line if facts else None,
        model_number=facts.number if facts else data.model_number.strip(),
        serial=(data.serial or "").strip() or None,
        diagnostic_session=data.diagnostic_session or None,
        context=context,
        author_id=author.id,
        centre_id=author.centre_id,
        idempotency_key=key,
        fingerprint=digest if key else None,
        created_at=now,
        first_response_due=add_working_time(now, settings.first_response[priority], cal),
        resolution_due=add_working_time(now, settings.resolution[priority], cal),
    )
    if key is None:
        session.add(ticket)
        session.flush()
    else:
        # The same key opened concurrently: the first ticket stands.
        ticket, new = insert_once(
            session,
            ticket,
            find=lambda: _opened_with(session, author, key),
            describe=_describe,
        )
        if not new:
            return ticket, False
    ticket.reference = f"ESC-{now:%Y}-{ticket.id:06d}"
    queue = f"the tier-1 queue for {ticket.product_line or 'all products'}"
    ticket.events.append(
        TicketEvent(
            kind=EventKind.MESSAGE,
            public=True,
            author=author.email,
            body=ticket.description,
            created_at=now,
        )
    )
    ticket.events.append(
        TicketEvent(
            kind=EventKind.EVENT,
            public=True,
            author="Benchside",
            body=f"Opened in {queue}.",
            created_at=now,
        )
    )
    mail_technician(
        session, ticket, author, "escalation_received", settings=settings, zone=cal.zone
    )
    session.flush()
    return ticket, True


def _content(data: Submission) -> dict[str, Any]:
    """What a submission asks, spelled as it will be stored (a repeat that differs only in
    spaces around the text is the same request)."""
    content = asdict(data)
    content.update(
        subject=one_line(data.subject),
        description=data.description.strip(),
        model_number=data.model_number.strip(),
        serial=(data.serial or "").strip() or None,
        diagnostic_session=data.diagnostic_session or None,
    )
    return content


def _describe(ticket: Ticket) -> str:
    return ticket.reference or "an escalation"


def mail_technician(
    session: Session,
    ticket: Ticket,
    technician: User,
    template: str,
    *,
    settings: EscalationSettings,
    **context: object,
) -> None:
    """Mail about a ticket to its technician: its subject, its link, and its reply address."""
    mail = settings.mail
    mail.queue(
        session,
        to=technician.email,
        subject=f"[{ticket.reference}] {ticket.subject}",
        template=template,
        ticket=ticket,
        link=mail.link("escalations.ticket", reference=ticket.reference),
        reply_to=reply_address(ticket, technician, settings=settings),
        **context,
    )


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


def ticket_for(session: Session, user: User, reference: str) -> Ticket:
    """The ticket of ``reference`` if ``user`` may see it.

    :raises TicketNotFound: there is none, or it is not theirs to see (said the same way).
    """
    ticket = visible(session, user, reference)
    if ticket is None:
        raise TicketNotFound()
    return ticket


def check(user: User, action: str, ticket: Ticket) -> None:
    """Refuse with the policy's reason unless ``user`` may do ``action`` to ``ticket``.

    :raises NotAllowed: with the reason, in words for the person.
    """
    decision = policy.may(person_of(user), action, facts_of(ticket))
    if not decision:
        raise NotAllowed(decision.reason)


def keep_draft(session: Session, user: User, fields: dict[str, str]) -> EscalationDraft:
    """Keep what ``user`` typed for the walk it came from (``diagnostic_session``; ``""``:
    none), replacing that walk's last draft."""
    walk = (fields.get("diagnostic_session") or "")[:32]
    kept = {k: str(fields.get(k) or "")[:20_000] for k in DRAFT_FIELDS}
    draft = session.get(EscalationDraft, (user.id, walk))
    if draft is None:
        draft = EscalationDraft(
            user_id=user.id, diagnostic_session=walk, data=kept, saved_at=utcnow()
        )
        session.add(draft)
    else:
        draft.data, draft.saved_at = kept, utcnow()
    session.flush()
    return draft


def discard_draft(session: Session, user: User, walk: str | None) -> None:
    """The escalation was sent: its draft goes."""
    draft = session.get(EscalationDraft, (user.id, walk or ""))
    if draft is not None:
        session.delete(draft)
        session.flush()


# --- what waits for a person ---------------------------------------------------------------------


def is_late(now: datetime) -> ColumnElement[bool]:
    """An open ticket past a target: breached, unanswered past its first response, or
    unresolved past its resolution with the clock running (the queues' "late")."""
    return (Ticket.status != RESOLVED) & or_(
        Ticket.breached_at.is_not(None),
        Ticket.first_responded_at.is_(None) & (Ticket.first_response_due < now),
        Ticket.paused_at.is_(None) & (Ticket.resolution_due < now),
    )


@dataclass(frozen=True)
class TicketDue:
    """An open ticket with whether it is late (:func:`is_late`, decided by the database)."""

    ticket: Ticket
    late: bool


def _open_due(
    session: Session, *conditions: ColumnElement[bool], now: datetime, limit: int
) -> list[TicketDue]:
    rows = session.execute(
        select(Ticket, is_late(now))
        .where(Ticket.status.in_((OPEN, WAITING)), *conditions)
        .order_by(Ticket.first_response_due, Ticket.id)
        .limit(limit)
    )
    return [TicketDue(ticket, bool(late)) for ticket, late in rows]


def open_sent_by(
    session: Session, user: User, *, now: datetime, limit: int = 50
) -> list[TicketDue]:
    """A person's own tickets not yet resolved, the soonest due first."""
    return _open_due(session, Ticket.author_id == user.id, now=now, limit=limit)


def assigned_to(session: Session, user: User, *, now: datetime, limit: int = 50) -> list[TicketDue]:
    """The open tickets ``user`` is assigned, whatever their tier, the soonest due first."""
    return _open_due(session, Ticket.assignee_id == user.id, now=now, limit=limit)


def unassigned_in(
    session: Session, tier: str, *, now: datetime, limit: int = 20
) -> list[TicketDue]:
    """A tier's open tickets nobody has taken yet, the soonest due first."""
    return _open_due(
        session, Ticket.tier == tier, Ticket.assignee_id.is_(None), now=now, limit=limit
    )


def late_in(session: Session, *, tier: str | None, now: datetime, limit: int = 50) -> list[Ticket]:
    """Late tickets of a tier (every tier: ``None``), the longest overdue first."""
    query = select(Ticket).where(is_late(now))
    if tier is not None:
        query = query.where(Ticket.tier == tier)
    return list(session.scalars(query.order_by(Ticket.first_response_due, Ticket.id).limit(limit)))


def late_of_centre(
    session: Session, centre_id: int, *, now: datetime, limit: int = 50
) -> list[Ticket]:
    """A service centre's late tickets, the longest overdue first."""
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.centre_id == centre_id, is_late(now))
            .order_by(Ticket.first_response_due, Ticket.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class TreeEscalations:
    tree_id: str
    title: str
    tickets: int


def most_escalated_trees(
    session: Session, *, since: datetime, limit: int = 10
) -> list[TreeEscalations]:
    """The trees whose walks led to the most tickets opened since ``since``, most first (the
    title is the newest revision's that a walk was on)."""
    count = func.count(Ticket.id)
    rows = session.execute(
        select(TreeRevision.tree_id, func.max(TreeRevision.title), count)
        .select_from(Ticket)
        .join(DiagnosticSession, DiagnosticSession.id == Ticket.diagnostic_session)
        .join(TreeRevision, TreeRevision.id == DiagnosticSession.revision_id)
        .where(Ticket.created_at >= since)
        .group_by(TreeRevision.tree_id)
        .order_by(count.desc(), TreeRevision.tree_id)
        .limit(limit)
    )
    return [TreeEscalations(tree_id, title, tickets) for tree_id, title, tickets in rows]
