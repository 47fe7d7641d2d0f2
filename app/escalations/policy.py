"""Who may do what to an escalation: one answer for the pages, the API and mail in.

A pure function over plain values (no Flask, no database), so that every entry point asks the
same question and a hidden button is never the only thing standing in the way.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.roles import Person as Person  # the policies' one actor
from app.roles import Role

#: Everything a person can do to a ticket. ``message`` and ``not_solved`` are the technician's
#: side; ``mail`` is a message that came by mail and was proven (or accepted) to be the sender's.
ACTIONS = (
    "view",
    "message",
    "not_solved",
    "mail",
    "reply",
    "waiting",
    "note",
    "escalate",
    "consult",
    "consult_answer",
    "resolve",
    "assign",
)
#: Actions on held mail (not tied to one ticket's tier).
MAIL_ACTIONS = ("accept_mail", "reject_mail")

AGENT_ROLES = frozenset({Role.AGENT_TIER1, Role.AGENT_TIER2, Role.ENGINEER, Role.ADMIN})
TIER_OF_ROLE = {
    Role.AGENT_TIER1: "tier1",
    Role.AGENT_TIER2: "tier2",
    Role.ENGINEER: "engineering",
}
TIER_NAMES = {"tier1": "tier 1", "tier2": "tier 2", "engineering": "engineering"}


@dataclass(frozen=True)
class TicketFacts:
    tier: str
    author_id: int
    centre_id: int | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def _refused(reason: str) -> Decision:
    return Decision(False, reason)


def sees(person: Person, ticket: TicketFacts) -> bool:
    """The ticket's author, their centre's manager, and agents."""
    return (
        person.id == ticket.author_id
        or person.role in AGENT_ROLES
        or (
            person.role == Role.CENTRE_MANAGER
            and person.centre_id is not None
            and person.centre_id == ticket.centre_id
        )
    )


def works(person: Person, ticket: TicketFacts) -> bool:
    """The agents of the ticket's tier (and admins) work it: they answer the technician."""
    return person.role == Role.ADMIN or TIER_OF_ROLE.get(person.role) == ticket.tier


def may(person: Person, action: str, ticket: TicketFacts) -> Decision:
    """May ``person`` do ``action`` to ``ticket``? Refusals say why, in words for the person.

    Whether the ticket's state allows it (a consult to answer, a tier left to escalate to) is the
    workflow's to say; this is about who.
    """
    if action not in ACTIONS:
        return _refused(f"“{action}” is not something one can do to an escalation.")
    if not sees(person, ticket):
        return _refused("This escalation is not yours to see.")
    with_tier = TIER_NAMES.get(ticket.tier, ticket.tier)
    if action in ("view", "mail"):
        return ALLOWED
    if action in ("message", "not_solved"):
        if person.role in AGENT_ROLES:
            return _refused("Agents answer with the buttons under the message.")
        return ALLOWED
    if person.role not in AGENT_ROLES:
        return _refused("Only support agents can do this.")
    if action == "note":
        return ALLOWED
    if action == "consult_answer":
        if person.role in (Role.ENGINEER, Role.ADMIN):
            return ALLOWED
        return _refused("Only engineering answers tier 2's questions.")
    if action == "consult":
        if person.role not in (Role.AGENT_TIER2, Role.ADMIN):
            return _refused("Tier 2 consults engineering; escalate to tier 2 first.")
        if ticket.tier != "tier2":
            return _refused(f"This ticket is with {with_tier}; tier 2 consults engineering.")
        return ALLOWED
    if works(person, ticket):  # reply, waiting, escalate, resolve, assign
        return ALLOWED
    return _refused(
        f"This ticket is with {with_tier}, who answer the technician; add an internal note instead."
    )


def may_handle_mail(person: Person, action: str) -> Decision:
    """Held mail (a sender not proven by their own signed address) is for agents to decide."""
    if action not in MAIL_ACTIONS:
        return _refused(f"“{action}” is not something one can do to held mail.")
    if person.role not in AGENT_ROLES:
        return _refused("Only support agents decide on held mail.")
    return ALLOWED
