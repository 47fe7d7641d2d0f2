"""The home page as a work queue: what waits for a person, by role, each item one step from
being acted on.

Flask-free: the page and any other entry point pass the session, the person and the time.
Links are named as endpoint and arguments (the web edge turns them into addresses), so that the
queue can be read and tested without a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations import policy as escalation_policy
from app.escalations import services as escalations
from app.escalations.models import WAITING, Ticket
from app.notices import services as notices
from app.orders import services as orders
from app.repairs import exchange
from app.repairs import services as repairs
from app.roles import Role
from app.warranty import claims, keeping
from app.warranty.models import Claim
from diagnostics import services as diagnostics
from parts_catalog import errata

TIER_NAMES = escalation_policy.TIER_NAMES
#: How far back "the trees with most escalations" counts.
ESCALATION_WINDOW = timedelta(days=30)

LinkArgs = dict[str, str | int]


@dataclass(frozen=True)
class Link:
    """Where an item's action goes: a view's endpoint and its arguments."""

    endpoint: str
    args: LinkArgs = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    """One thing to act on.

    :param key: what identifies it (a reference, a number), unique within its section.
    :param label: what the person reads, the link's text after the ``action``'s verb
        ("Resume", "Open", "Track").
    :param due: a response target or a due time, if it has one (``due_on``: a due day), and
        what it is the target of (``due_label``).
    :param late: past its target.
    :param flag: a word that matters before anything else ("Safety", "Waiting for your answer").
    :param acknowledge: the action is acknowledging a notice (a form, not a link).
    """

    key: str
    label: str
    action: str
    link: Link
    detail: str = ""
    due: datetime | None = None
    due_on: date | None = None
    due_label: str = ""
    late: bool = False
    flag: str = ""
    acknowledge: int | None = None


@dataclass(frozen=True)
class Section:
    """A kind of work: its items, what it says when there are none, and where the rest is."""

    id: str
    title: str
    items: tuple[Item, ...]
    empty: str
    more: Link | None = None
    more_label: str = ""


@dataclass(frozen=True)
class Queue:
    sections: tuple[Section, ...]

    @property
    def is_empty(self) -> bool:
        return not any(section.items for section in self.sections)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


def queue_for(session: Session, user: User, *, now: datetime) -> Queue:
    """What waits for ``user`` as of ``now``, in the sections of their role.

    A technician: walks to resume, the centre's open repairs (their own first), their
    escalations with the response targets, orders on their way. A centre manager: the centre's
    late escalations, open repairs, returns (parts to be decided, units owed back), orders. Both:
    warranty claims sent back for information (a technician's own, a manager's centre's). An
    engineer: open catalogue errata, the trees with most escalations, their drafts (trees and
    notices). A support agent: the tickets assigned to them, their tier's tickets nobody has
    taken, their tier's late tickets. An exchange approver: the requests the rules left to a
    person; a claim reviewer: the submitted claims. An admin: every late escalation, both of
    those, returns to decide, errata. Everyone: notices to acknowledge.
    """
    role = Role(user.role)
    sections: list[Section] = []
    if role == Role.TECHNICIAN:
        sections += [
            _walks(session, user),
            _repairs(session, user, now),
            _my_escalations(session, user, now),
            _claims_sent_back(session, user, now),
            _orders(session, user, title="Orders on their way"),
        ]
    elif role == Role.CENTRE_MANAGER:
        sections += [
            _centre_late(session, user, now),
            # Managers repair too (and had this list before the queue).
            _repairs(session, user, now),
            _part_returns(session, user, title="Returns waiting for a decision", deciding=False),
            _unit_returns(session, user, now),
            _claims_sent_back(session, user, now),
            _orders(session, user, title="The centre's orders on their way"),
        ]
    elif role == Role.ENGINEER:
        sections += [
            _errata(session),
            _escalated_trees(session, now),
            _drafts(session, user),
        ]
    elif role in (Role.AGENT_TIER1, Role.AGENT_TIER2):
        tier = escalation_policy.TIER_OF_ROLE[role]
        sections += [
            _assigned(session, user, now),
            _unassigned(session, tier, now),
            _late(session, tier, now),
        ]
    elif role == Role.EXCHANGE_APPROVER:
        sections.append(_exchanges(session, now))
    elif role == Role.CLAIM_REVIEWER:
        sections.append(_claims_to_review(session, now))
    elif role == Role.ADMIN:
        sections += [
            _late(session, None, now),
            _exchanges(session, now),
            _claims_to_review(session, now),
            _part_returns(session, user, title="Returns to decide", deciding=True),
            _errata(session),
        ]
    sections.append(_notices(session, user))
    return Queue(tuple(sections))


# --- the sections ----------------------------------------------------------------------------


def _walks(session: Session, user: User) -> Section:
    walks = diagnostics.unfinished_walks(session, by=user.email)
    return Section(
        id="walks",
        title="Walks to resume",
        items=tuple(
            Item(
                key=walk.id,
                label=walk.revision.title,
                detail=" · ".join(v for v in (walk.model_number, walk.serial) if v),
                action="Resume",
                link=Link("diagnose.walk", {"session_id": walk.id}),
            )
            for walk in walks
        ),
        empty="No walk left half-way.",
        more=Link("diagnose.index"),
        more_label="Diagnose",
    )


def _age(opened_at: datetime, now: datetime) -> str:
    days = (now.date() - opened_at.date()).days
    return "open since today" if days <= 0 else f"open {days} day{'s' if days != 1 else ''}"


def _repairs(session: Session, user: User, now: datetime) -> Section:
    # The centre's repairs in progress, the person's own first, newest first within each.
    found = sorted(
        repairs.open_repairs(session, user),
        key=lambda r: (r.technician_id != user.id, -r.opened_at.timestamp()),
    )
    return Section(
        id="my-repairs",
        title="My open repairs",
        items=tuple(
            Item(
                key=str(r.reference),
                label=f"{r.reference} · {r.model_number} · {r.serial}",
                detail=f"{r.status.label} · {_age(r.opened_at, now)} · {r.complaint[:60]}",
                action="Open",
                link=Link("repairs.repair", {"reference": str(r.reference)}),
                flag="mine" if r.technician_id == user.id else "",
            )
            for r in found
        ),
        empty="No repair in progress at your centre.",
        more=Link("repairs.new"),
        more_label="New repair",
    )


def _target(ticket: Ticket) -> tuple[datetime | None, str]:
    """The target the ticket is working towards: its first response, then its resolution; none
    while it waits for the technician (the clock stands still)."""
    if ticket.status == WAITING:
        return None, ""
    if ticket.first_responded_at is None:
        return ticket.first_response_due, "First response by"
    return ticket.resolution_due, "Resolution by"


def _ticket_item(ticket: Ticket, *, late: bool, flag: str = "") -> Item:
    due, due_label = _target(ticket)
    return Item(
        key=str(ticket.reference),
        label=f"{ticket.reference} · {ticket.subject}",
        detail=f"{ticket.model_number} · with {TIER_NAMES.get(ticket.tier, ticket.tier)}",
        action="Open",
        link=Link("escalations.ticket", {"reference": str(ticket.reference)}),
        due=due,
        due_label=due_label,
        late=late,
        flag=flag,
    )


def _my_escalations(session: Session, user: User, now: datetime) -> Section:
    found = escalations.open_sent_by(session, user, now=now)
    # What waits for the technician's own answer comes first; then the soonest due.
    found.sort(key=lambda d: d.ticket.status != WAITING)
    return Section(
        id="my-escalations",
        title="Your escalations",
        items=tuple(
            _ticket_item(
                d.ticket,
                late=d.late,
                flag="Waiting for your answer" if d.ticket.status == WAITING else "",
            )
            for d in found
        ),
        empty="No escalation of yours is open.",
        more=Link("escalations.new"),
        more_label="Escalate",
    )


def _centre_late(session: Session, user: User, now: datetime) -> Section:
    found = (
        []
        if user.centre_id is None
        else escalations.late_of_centre(session, user.centre_id, now=now)
    )
    return Section(
        id="late-escalations",
        title="Your centre's late escalations",
        items=tuple(_ticket_item(t, late=True) for t in found),
        empty="None of your centre's escalations is late.",
        more=Link("escalations.mine"),
        more_label="All the centre's escalations",
    )


def _assigned(session: Session, user: User, now: datetime) -> Section:
    found = escalations.assigned_to(session, user, now=now)
    return Section(
        id="assigned",
        title="Assigned to you",
        items=tuple(_ticket_item(d.ticket, late=d.late) for d in found),
        empty="No ticket is assigned to you.",
        more=Link("escalations.queues", {"assigned": "mine"}),
        more_label="Your queue",
    )


def _unassigned(session: Session, tier: str, now: datetime) -> Section:
    found = escalations.unassigned_in(session, tier, now=now)
    name = escalation_policy.TIER_NAMES[tier]
    return Section(
        id="unassigned",
        title=f"Waiting in {name} for someone to take",
        items=tuple(_ticket_item(d.ticket, late=d.late) for d in found),
        empty=f"Every open ticket in {name} has someone on it.",
        more=Link("escalations.queues", {"tier": tier, "assigned": "unassigned"}),
        more_label=f"The {name} queue",
    )


def _late(session: Session, tier: str | None, now: datetime) -> Section:
    found = escalations.late_in(session, tier=tier, now=now)
    where = f" in {escalation_policy.TIER_NAMES[tier]}" if tier else ""
    return Section(
        id="late-tickets",
        title=f"Late tickets{where}",
        items=tuple(_ticket_item(t, late=True) for t in found),
        empty=f"No ticket{where} is late.",
        more=Link("escalations.queues", {"tier": tier, "late": 1})
        if tier
        else Link("escalations.dashboard"),
        more_label="The queue, late only" if tier else "Escalation figures",
    )


def _orders(session: Session, user: User, *, title: str) -> Section:
    found = orders.in_flight(session, user)
    return Section(
        id="orders",
        title=title,
        items=tuple(
            Item(
                key=str(o.id),
                label=f"Order {o.id}" + (f" · {o.reference}" if o.reference else ""),
                detail=f"{o.status.value} · placed {o.placed_at:%d %b %Y}",
                action="Track",
                link=Link("orders.order", {"order_id": o.id}),
            )
            for o in found
        ),
        empty="No order is on its way.",
        more=Link("orders.history"),
        more_label="All orders",
    )


def _part_returns(session: Session, user: User, *, title: str, deciding: bool) -> Section:
    """Returns not yet decided: a decider goes to the decision, anyone else to the order."""
    found = orders.pending_returns(session, user)
    return Section(
        id="returns",
        title=title,
        items=tuple(
            Item(
                key=str(r.id),
                label=f"Return of {r.item.part_number} × {r.quantity}",
                detail=f"{r.reason.value.replace('_', ' ')} · order {r.item.line.order_id}",
                action="Open",
                link=Link("orders.returns", {"_anchor": f"d-{r.id}"})
                if deciding
                else Link("orders.order", {"order_id": r.item.line.order_id}),
            )
            for r in found
        ),
        empty="No return waits for a decision.",
        more=Link("orders.returns"),
        more_label="All returns",
    )


def _unit_returns(session: Session, user: User, now: datetime) -> Section:
    found = [] if user.centre_id is None else repairs.unit_returns_due(session, user.centre_id)
    today = now.date()
    return Section(
        id="unit-returns",
        title="Exchanged units to send back",
        items=tuple(
            Item(
                key=str(u.rma),
                label=f"RMA {u.rma} · {u.model_number} · {u.serial}",
                detail=f"repair {u.authorisation.repair.reference}",
                action="Open",
                link=Link("repairs.repair", {"reference": str(u.authorisation.repair.reference)}),
                due_on=u.due_on,
                due_label="Due back by",
                late=u.due_on < today,
            )
            for u in found
        ),
        empty="No exchanged unit is owed back.",
    )


def _since(label: str, at: datetime | None, now: datetime) -> str:
    if at is None:
        return label
    days = (now.date() - at.date()).days
    return f"{label} today" if days <= 0 else f"{label} {days} day{'s' if days != 1 else ''} ago"


def _exchanges(session: Session, now: datetime) -> Section:
    found = exchange.pending(session)
    return Section(
        id="exchanges-to-decide",
        title="Exchange requests to decide",
        items=tuple(
            Item(
                key=str(a.number),
                label=f"{a.number} · {a.repair.model_number} · {a.repair.serial}",
                detail=f"{_since('requested', a.requested_at, now)} · {a.reason[:80]}",
                action="Decide",
                link=Link("repair_admin.exchange_request", {"number": str(a.number)}),
            )
            for a in found
            if a.number is not None
        ),
        empty="No exchange request waits for a decision.",
        more=Link("repair_admin.queue"),
        more_label="Exchange requests",
    )


def _claim_item(claim: Claim, *, action: str, detail: str, flag: str = "") -> Item:
    return Item(
        key=str(claim.reference),
        label=f"{claim.reference} · {claim.total:.2f}",
        detail=detail,
        action=action,
        link=Link("warranty.claim", {"reference": str(claim.reference)}),
        flag=flag,
    )


def _claims_to_review(session: Session, now: datetime) -> Section:
    found = keeping.review_queue(session)
    return Section(
        id="claims-to-review",
        title="Warranty claims to review",
        items=tuple(
            _claim_item(
                c,
                action="Review",
                detail=_since("submitted", c.submitted_at, now),
                flag=f"{len(c.flags)} flag{'s' if len(c.flags) != 1 else ''}" if c.flags else "",
            )
            for c in found
            if c.reference is not None
        ),
        empty="No submitted claim waits for review.",
        more=Link("warranty.review"),
        more_label="The review queue",
    )


def _claims_sent_back(session: Session, user: User, now: datetime) -> Section:
    found = claims.sent_back(session, user)
    return Section(
        id="claims-sent-back",
        title="Warranty claims sent back for information",
        items=tuple(
            _claim_item(
                c,
                action="Answer",
                detail=" · ".join(
                    v for v in (_since("sent back", c.decided_at, now), c.decision_reason) if v
                )[:120],
                flag="Waiting for your answer",
            )
            for c in found
            if c.reference is not None
        ),
        empty="No claim waits for more information.",
        more=Link("warranty.index"),
        more_label="All claims",
    )


def _errata(session: Session) -> Section:
    found = errata.open_errata(session)
    return Section(
        id="errata",
        title="Catalogue errata to settle",
        items=tuple(
            Item(
                key=str(e.id),
                label=f"{e.part_number} on {e.model_number or 'a model'}",
                detail=errata.KINDS.get(e.kind, e.kind),
                action="Settle",
                link=Link("catalog.errata_queue", {"_anchor": f"resolution-{e.id}"}),
            )
            for e in found
        ),
        empty="No erratum is open.",
        more=Link("catalog.errata_queue"),
        more_label="Errata",
    )


def _escalated_trees(session: Session, now: datetime) -> Section:
    days = ESCALATION_WINDOW.days
    found = escalations.most_escalated_trees(session, since=now - ESCALATION_WINDOW)
    return Section(
        id="escalated-trees",
        title=f"Trees with most escalations (last {days} days)",
        items=tuple(
            Item(
                key=t.tree_id,
                label=t.title,
                detail=f"{t.tickets} escalation{'s' if t.tickets != 1 else ''}",
                action="Analytics",
                link=Link("authoring.analytics", {"tree_id": t.tree_id}),
            )
            for t in found
        ),
        empty=f"No walk led to an escalation in the last {days} days.",
        more=Link("authoring.index"),
        more_label="Trees",
    )


def _drafts(session: Session, user: User) -> Section:
    trees = diagnostics.drafts_by(session, by=user.email)
    notes = notices.drafts_by(session, user)
    items = [
        Item(
            key=f"tree-{r.tree_id}",
            label=r.title,
            detail=f"tree draft, revision {r.number}",
            action="Edit",
            link=Link("authoring.editor", {"tree_id": r.tree_id}),
        )
        for r in trees
    ] + [
        Item(
            key=f"notice-{n.id}",
            label=n.title,
            detail=f"notice, {n.status.value}",
            action="Open",
            link=Link("notices.notice", {"notice_id": n.id}),
        )
        for n in notes
    ]
    return Section(
        id="drafts",
        title="Your drafts",
        items=tuple(items),
        empty="No draft of yours waits.",
        more=Link("authoring.index"),
        more_label="Trees",
    )


def _notices(session: Session, user: User) -> Section:
    found = notices.unacknowledged(session, user)
    return Section(
        id="notices-waiting",
        title="Notices to acknowledge",
        items=tuple(
            Item(
                key=str(n.id),
                label=n.title,
                detail=f"{n.reference} · {n.kind.label} · from {n.effective_on:%d %b %Y}",
                action="Read",
                link=Link("notices.notice", {"notice_id": n.id}),
                flag="Safety" if n.safety else "",
                # A safety notice is read before it is acknowledged; others may be acknowledged
                # from here in one tap.
                acknowledge=None if n.safety else n.id,
            )
            for n in found
        ),
        empty="No notice waits for your acknowledgement.",
        more=Link("notices.index"),
        more_label="All notices",
    )
