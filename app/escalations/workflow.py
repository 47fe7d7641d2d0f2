"""What happens to a ticket after it is opened: queues, assignment, replies and notes, the paused
clock, escalation through the tiers, engineering consults, and the sweep that reminds assignees
and escalates silence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations import path, policy
from app.escalations.models import OPEN, RESOLVED, WAITING, EventKind, Ticket, TicketEvent, Tier
from app.escalations.services import (
    AGENTS,
    TicketInvalid,
    check,
    facts_of,
    mail_technician,
    person_of,
)
from app.escalations.settings import EscalationSettings
from app.escalations.sla import (
    Calendar,
    add_working_time,
    working_time_between,
    working_time_left,
)
from app.roles import Role
from parts_catalog.sqltypes import utcnow

TIER_OF_ROLE = policy.TIER_OF_ROLE
NEXT_TIER = {Tier.TIER1: Tier.TIER2, Tier.TIER2: Tier.ENGINEERING}
TIER_NAMES = policy.TIER_NAMES


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """Where a ticket stands against its targets, in working time."""

    first_response_left: timedelta | None  # None once answered
    first_response_late: bool
    resolution_left: timedelta | None  # None once resolved
    resolution_late: bool
    paused: bool


def clock(ticket: Ticket, now: datetime, cal: Calendar) -> Clock:
    answered = ticket.first_responded_at is not None
    resolved = ticket.status == RESOLVED
    # While paused, the resolution clock reads as it did when the wait began.
    at = ticket.paused_at or now
    return Clock(
        first_response_left=None
        if answered
        else working_time_left(now, ticket.first_response_due, cal),
        first_response_late=not answered and ticket.first_response_due < now,
        resolution_left=None if resolved else working_time_left(at, ticket.resolution_due, cal),
        resolution_late=not resolved and ticket.resolution_due < at,
        paused=ticket.paused_at is not None,
    )


@dataclass(frozen=True)
class QueueFilter:
    tier: str
    product_line: str | None = None
    assigned: str | None = None  # "mine", "unassigned"
    late: bool = False


def queue(session: Session, wanted: QueueFilter, *, me: User | None = None) -> list[Ticket]:
    """Open tickets of a tier, soonest due first. Engineering's queue also holds the tickets
    tier 2 consults it about (they stay in tier 2)."""
    query = select(Ticket).where(Ticket.status != RESOLVED)
    if wanted.tier == "engineering":
        query = query.where(or_(Ticket.tier == "engineering", Ticket.consult_since.is_not(None)))
    else:
        query = query.where(Ticket.tier == wanted.tier)
    if wanted.product_line:
        query = query.where(Ticket.product_line == wanted.product_line)
    if wanted.assigned == "mine" and me is not None:
        query = query.where(Ticket.assignee_id == me.id)
    elif wanted.assigned == "unassigned":
        query = query.where(Ticket.assignee_id.is_(None))
    if wanted.late:
        now = utcnow()
        query = query.where(
            or_(
                Ticket.breached_at.is_not(None),
                (Ticket.first_responded_at.is_(None)) & (Ticket.first_response_due < now),
                (Ticket.paused_at.is_(None)) & (Ticket.resolution_due < now),
            )
        )
    return list(session.scalars(query.order_by(Ticket.first_response_due, Ticket.id)))


def works(user: User, ticket: Ticket) -> bool:
    """Whether ``user`` works ``ticket``: the agents of its tier (and admins). Others may add
    internal notes, and engineering answers tier 2's consults."""
    return policy.works(person_of(user), facts_of(ticket))


def agents_of(session: Session, tier: str) -> list[User]:
    """Who can be assigned a ticket of ``tier``."""
    roles = [role for role, their_tier in TIER_OF_ROLE.items() if their_tier == tier]
    return list(
        session.scalars(
            select(User)
            .where(User.role.in_(roles), User.is_enabled.is_(True))
            .order_by(User.name, User.email)
        )
    )


# --- acting ---------------------------------------------------------------------------------


def _event(ticket: Ticket, kind: EventKind, body: str, *, by: str, public: bool) -> TicketEvent:
    event = TicketEvent(kind=kind, public=public, author=by, body=body.strip(), created_at=utcnow())
    ticket.events.append(event)
    return event


def _mail_assignee(
    session: Session, ticket: Ticket, what: str, text: str, *, settings: EscalationSettings
) -> None:
    assignee = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    if assignee is None or not assignee.is_enabled:
        return
    rows = path.path_of(session, ticket)
    settings.mail.queue(
        session,
        to=assignee.email,
        subject=f"[{ticket.reference}] {what}",
        template="escalation_for_agent",
        ticket=ticket,
        what=what,
        text=text,
        zone=settings.calendar.zone,
        link=settings.mail.link("escalations.ticket", reference=ticket.reference),
        path=rows,
        path_lines=path.as_text(rows),
        walk_link=settings.mail.link("diagnose.walk", session_id=rows[0].walk) if rows else None,
    )


def assign(
    session: Session,
    ticket: Ticket,
    assignee: User | None,
    *,
    by: User,
    settings: EscalationSettings,
) -> None:
    """Give a ticket to an agent of its tier (or back to the queue with ``None``).

    :raises NotAllowed: ``by`` may not assign this ticket.
    :raises TicketInvalid: ``assignee`` does not work in the ticket's tier.
    """
    check(by, "assign", ticket)
    if assignee is not None and (
        assignee.role not in AGENTS
        or (assignee.role != Role.ADMIN and TIER_OF_ROLE.get(assignee.role) != ticket.tier)
    ):
        raise TicketInvalid({"assignee": f"{assignee.email} does not work in {ticket.tier}."})
    if ticket.assignee_id == (assignee.id if assignee else None):
        return  # nothing changes: nothing to record
    ticket.assignee_id = assignee.id if assignee else None
    ticket.reminded_at = None
    who = assignee.email if assignee else "nobody (back to the queue)"
    _event(ticket, EventKind.EVENT, f"Assigned to {who}.", by=by.email, public=False)
    if assignee is not None and assignee.id != by.id:
        _mail_assignee(session, ticket, "Assigned to you", ticket.subject, settings=settings)
    session.flush()


def respond(
    session: Session,
    ticket: Ticket,
    agent: User,
    text: str,
    *,
    internal: bool,
    waiting: bool,
    settings: EscalationSettings,
) -> TicketEvent:
    """A public reply (mailed to the technician; the first one meets the first-response target)
    or an internal note (never shown or mailed to the technician)."""
    event = _event(
        ticket,
        EventKind.NOTE if internal else EventKind.REPLY,
        text,
        by=agent.email,
        public=not internal,
    )
    if not internal:
        now = event.created_at
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
            ticket.reminded_at = None  # the next reminder is for the resolution target
        if waiting:
            pause(ticket, now)
        else:
            resume(ticket, now, settings.calendar)
        ticket.status = WAITING if waiting else OPEN
        ticket.assignee_id = ticket.assignee_id or agent.id
        author = session.get(User, ticket.author_id)
        if author is not None:
            mail_technician(
                session, ticket, author, "escalation_reply", settings=settings, text=event.body
            )
    session.flush()
    return event


def technician_message(
    session: Session, ticket: Ticket, user: User, text: str, *, settings: EscalationSettings
) -> TicketEvent:
    """The technician answers, or says the answer did not solve it: the clock runs again and the
    assignee hears of it."""
    event = _event(ticket, EventKind.MESSAGE, text, by=user.email, public=True)
    resume(ticket, event.created_at, settings.calendar)
    ticket.status = OPEN
    _mail_assignee(session, ticket, "The technician wrote", event.body, settings=settings)
    session.flush()
    return event


def pause(ticket: Ticket, now: datetime) -> None:
    """Stop the clock: the ticket waits for the technician."""
    ticket.paused_at = ticket.paused_at or now


def resume(ticket: Ticket, now: datetime, cal: Calendar) -> None:
    """Start the clock again, moving the resolution target by the working time it stood."""
    if ticket.paused_at is None:
        return
    stood = working_time_between(ticket.paused_at, now, cal)
    ticket.resolution_due = add_working_time(ticket.resolution_due, stood, cal)
    ticket.paused_at = None
    ticket.reminded_at = None


def escalate(session: Session, ticket: Ticket, *, by: str, reason: str) -> Tier:
    """Send a ticket to the next tier (tier 1 → tier 2 → engineering). The reason is internal:
    the technician sees that it moved on, not what one agent wrote about another's work."""
    nxt = NEXT_TIER.get(ticket.tier)
    if nxt is None:
        raise TicketInvalid({"tier": "Engineering is the last tier."})
    ticket.tier = nxt
    ticket.assignee_id = None
    ticket.reminded_at = None
    ticket.consult_since = None
    if reason.strip():
        _event(
            ticket,
            EventKind.NOTE,
            f"Why it goes to {TIER_NAMES[nxt]}: {reason}",
            by=by,
            public=False,
        )
    _event(ticket, EventKind.EVENT, f"Escalated to {TIER_NAMES[nxt]}.", by=by, public=True)
    session.flush()
    return nxt


def consult(session: Session, ticket: Ticket, agent: User, question: str) -> None:
    """Tier 2 asks engineering; the ticket stays with tier 2, which answers the technician.
    The question and its answer are internal."""
    if ticket.tier != "tier2":
        raise TicketInvalid({"tier": "Tier 2 consults engineering; escalate to tier 2 first."})
    ticket.consult_since = ticket.consult_since or utcnow()
    ticket.assignee_id = ticket.assignee_id or agent.id
    _event(ticket, EventKind.CONSULT, question, by=agent.email, public=False)
    session.flush()


def answer_consult(
    session: Session, ticket: Ticket, engineer: User, text: str, *, settings: EscalationSettings
) -> None:
    """Engineering answers tier 2's question; the assignee is told."""
    if ticket.consult_since is None:
        raise TicketInvalid({"consult": "Nobody asked engineering about this ticket."})
    ticket.consult_since = None
    _event(ticket, EventKind.ADVICE, text, by=engineer.email, public=False)
    _mail_assignee(session, ticket, "Engineering answered", text, settings=settings)
    session.flush()


def resolve(
    session: Session, ticket: Ticket, agent: User, text: str, *, settings: EscalationSettings
) -> None:
    """Resolve with a last answer to the technician (mailed like any reply)."""
    if text.strip():
        respond(session, ticket, agent, text, internal=False, waiting=False, settings=settings)
    resume(ticket, utcnow(), settings.calendar)  # a resolved ticket has no clock standing still
    ticket.status = RESOLVED
    ticket.consult_since = None
    _event(ticket, EventKind.EVENT, "Resolved.", by=agent.email, public=True)
    session.flush()


def not_solved(
    session: Session, ticket: Ticket, user: User, text: str, *, settings: EscalationSettings
) -> Tier | None:
    """The technician says the answer did not solve it: their message goes on the ticket and
    the ticket to the next tier (or stays with engineering, reopened). Returns the new tier."""
    technician_message(session, ticket, user, text, settings=settings)
    if ticket.tier not in NEXT_TIER:
        return None
    return escalate(session, ticket, by=user.email, reason="the technician says it is not solved")


#: What the ticket page's buttons do: the technician's side, then the agents'.
AGENT_ACTIONS = ("reply", "waiting", "note", "escalate", "consult", "consult_answer", "resolve")
FORM_ACTIONS = ("message", "not_solved", *AGENT_ACTIONS)


def act(
    session: Session,
    ticket: Ticket,
    user: User,
    action: str,
    text: str,
    *,
    settings: EscalationSettings,
) -> None:
    """One of the ticket page's actions (:data:`FORM_ACTIONS`) by ``user``, with ``text``:
    the policy decides who may, the workflow what the ticket's state allows.

    :raises NotAllowed: ``user`` may not do this to this ticket (the policy's reason).
    :raises TicketInvalid: the ticket's state does not allow it (no consult to answer, no tier
        left to escalate to...).
    """
    check(user, action, ticket)
    if action in ("reply", "note", "waiting"):
        respond(
            session,
            ticket,
            user,
            text,
            internal=action == "note",
            waiting=action == "waiting",
            settings=settings,
        )
    elif action == "escalate":
        escalate(session, ticket, by=user.email, reason=text)
    elif action == "consult":
        consult(session, ticket, user, text)
    elif action == "consult_answer":
        answer_consult(session, ticket, user, text, settings=settings)
    elif action == "resolve":
        resolve(session, ticket, user, text, settings=settings)
    elif action == "not_solved":
        not_solved(session, ticket, user, text, settings=settings)
    elif action == "message":  # the technician answers
        technician_message(session, ticket, user, text, settings=settings)
    else:
        raise TicketInvalid({"action": "Choose one of the buttons under the message."})


def reopen(ticket: Ticket) -> None:
    if ticket.status == RESOLVED:
        ticket.status = OPEN


# --- the sweep ------------------------------------------------------------------------------

#: Reminders look this far ahead in wall-clock time (a working hour before a Monday-morning
#: target can be the Friday before, or before a holiday).
REMINDER_HORIZON = timedelta(days=14)


def sweep(
    session: Session, *, settings: EscalationSettings, now: datetime | None = None
) -> dict[str, int]:
    """Remind assignees of targets coming within the reminder lead (only within business
    hours), flag tickets past their first-response target and send them to the next tier. Safe
    to run every minute: a reminder is sent once per target, a ticket escalated once per breach.
    """
    now = now or utcnow()
    counts = {"reminded": 0, "breached": 0, "escalated": 0}
    cal = settings.calendar
    if cal.is_open(now):
        lead = settings.reminder_lead
        candidates = session.scalars(
            select(Ticket)
            .with_for_update(skip_locked=True)
            .where(
                Ticket.status == OPEN,
                Ticket.assignee_id.is_not(None),
                Ticket.reminded_at.is_(None),
                or_(
                    Ticket.first_responded_at.is_(None)
                    & (Ticket.first_response_due < now + REMINDER_HORIZON),
                    Ticket.first_responded_at.is_not(None)
                    & (Ticket.resolution_due < now + REMINDER_HORIZON),
                ),
            )
        )
        for ticket in candidates:
            first = ticket.first_responded_at is None
            due = ticket.first_response_due if first else ticket.resolution_due
            if due <= now or working_time_between(now, due, cal) > lead:
                continue
            ticket.reminded_at = now
            target = "first response" if first else "resolution"
            left = working_time_between(now, due, cal)
            _mail_assignee(
                session,
                ticket,
                f"Reminder: {target} due in {int(left.total_seconds() // 60)} min",
                ticket.subject,
                settings=settings,
            )
            counts["reminded"] += 1
    overdue = session.scalars(
        select(Ticket)
        .where(
            Ticket.status == OPEN,
            Ticket.first_responded_at.is_(None),
            Ticket.first_response_due < now,
            or_(Ticket.breached_at.is_(None), Ticket.tier.in_(list(NEXT_TIER))),
        )
        .with_for_update(skip_locked=True)
    )
    for ticket in overdue:
        if ticket.breached_at is None:
            ticket.breached_at = now
            counts["breached"] += 1
        if ticket.tier in NEXT_TIER:
            escalate(session, ticket, by="Benchside", reason="no first response within the target")
            # The next tier gets its own target: silence there escalates again.
            ticket.first_response_due = add_working_time(
                now, settings.first_response[ticket.priority], cal
            )
            counts["escalated"] += 1
    session.flush()
    return counts
