"""Every action on a ticket, by every role, on a ticket in every tier, posted directly (a hidden
button is not an authorisation): what is refused changes nothing and says why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations import services
from app.escalations.models import Ticket, TicketEvent
from app.mail.models import OutboxMessage
from app.roles import Role
from tests.conftest import AuthActions
from tests.escalations import escalation_settings
from tests.factories import make_centre, make_user

PEOPLE = (
    "author",
    "same_centre_technician",
    "same_centre_manager",
    "other_centre_manager",
    "agent_tier1",
    "agent_tier2",
    "engineer",
    "admin",
)
ACTIONS = (
    "message",
    "not_solved",
    "reply",
    "waiting",
    "note",
    "escalate",
    "consult",
    "consult_answer",
    "resolve",
    "assign",
)
TIERS = ("tier1", "tier2", "engineering")
AGENTS = {"agent_tier1": "tier1", "agent_tier2": "tier2", "engineer": "engineering"}
TEXT = "Typed for the matrix: C6120 is bulging."


def expected(person: str, action: str, tier: str) -> int:
    """The answer, written out apart from the policy it checks: 302 done, 404 not theirs to
    see, 403 not theirs to do, 422 theirs to do but not in the ticket's state."""
    agent = person in (*AGENTS, "admin")
    if action == "assign" and not agent:
        return 403  # the assignment page is the agents' alone, seen or not
    if person in ("same_centre_technician", "other_centre_manager"):
        return 404
    if action in ("message", "not_solved"):
        return 403 if agent else 302
    if action == "reply" and not agent:
        return 302  # the form's plain answer: the technician's side writes a message
    if not agent:
        return 403
    if action == "note":
        return 302
    if action == "consult_answer":
        if person not in ("engineer", "admin"):
            return 403
        return 302 if tier == "tier2" else 422  # only the tier-2 ticket has a question pending
    if action == "consult":
        return 302 if person in ("agent_tier2", "admin") and tier == "tier2" else 403
    if person != "admin" and AGENTS[person] != tier:
        return 403
    if action == "escalate" and tier == "engineering":
        return 422  # the last tier
    return 302


@dataclass
class World:
    people: dict[str, User]
    ticket: Ticket


def make_world(app: Flask, session: Session, tier: str) -> World:
    centre, other = make_centre(session), make_centre(session)
    people = {
        "author": make_user(session, role=Role.TECHNICIAN, centre=centre),
        "same_centre_technician": make_user(session, role=Role.TECHNICIAN, centre=centre),
        "same_centre_manager": make_user(session, role=Role.CENTRE_MANAGER, centre=centre),
        "other_centre_manager": make_user(session, role=Role.CENTRE_MANAGER, centre=other),
        "agent_tier1": make_user(session, role=Role.AGENT_TIER1),
        "agent_tier2": make_user(session, role=Role.AGENT_TIER2),
        "engineer": make_user(session, role=Role.ENGINEER),
        "admin": make_user(session, role=Role.ADMIN),
    }
    with app.test_request_context():
        ticket, _ = services.open_ticket(
            session,
            people["author"],
            services.Submission(
                subject="Shuts down after 3 s",
                description="12.1 V at CN6101.",
                category="technical",
                model_number="KDL-55W800C",
            ),
            settings=escalation_settings(app),
        )
    ticket.tier = tier
    if tier == "tier2":  # tier 2 asked engineering: there is a question to answer
        ticket.consult_since = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    session.commit()
    return World(people, ticket)


def snapshot(session: Session, ticket_id: int) -> tuple[object, ...]:
    session.expire_all()
    ticket = session.get_one(Ticket, ticket_id)
    events = session.scalar(
        select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    )
    mails = session.scalar(select(func.count()).select_from(OutboxMessage))
    return (
        ticket.status,
        ticket.tier,
        ticket.assignee_id,
        ticket.consult_since,
        ticket.paused_at,
        events,
        mails,
    )


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("person", PEOPLE)
def test_every_action_by_every_role_on_every_tier(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    session: Session,
    person: str,
    action: str,
    tier: str,
) -> None:
    world = make_world(app, session, tier)
    reference = world.ticket.reference
    auth.login(user=world.people[person])
    before = snapshot(session, world.ticket.id)
    if action == "assign":
        response = client.post(
            f"/escalations/{reference}/assign", data={"take": "1", "csrf_token": auth.csrf()}
        )
    else:
        response = client.post(
            f"/escalations/{reference}/reply",
            data={"text": TEXT, "action": action, "csrf_token": auth.csrf()},
        )
    want = expected(person, action, tier)
    assert response.status_code == want, response.get_data(as_text=True)[-2000:]
    after = snapshot(session, world.ticket.id)
    if want == 302:
        assert after != before
        return
    assert after == before  # refused: nothing changed, no mail queued
    html = response.get_data(as_text=True)
    if want in (403, 422) and action != "assign":
        assert TEXT in html  # the text comes back, with the reason beside it
        assert 'class="error"' in html or 'role="alert"' in html
    if want == 403 and action == "assign":
        agent = person in (*AGENTS, "admin")
        assert ("who answer the technician" if agent else "Not open to your role") in html
    elif want == 403:
        assert any(
            reason.lower() in html.lower()
            for reason in (
                "Agents answer with the buttons",
                "Only support agents",
                "Only engineering answers",
                "Tier 2 consults engineering",
                "add an internal note instead",
            )
        ), html[-2000:]


@pytest.mark.parametrize("person", PEOPLE)
def test_the_page_and_the_api_show_a_ticket_to_the_same_people(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session, person: str
) -> None:
    world = make_world(app, session, "tier1")
    auth.login(user=world.people[person])
    reference = world.ticket.reference
    sees = expected(person, "note", "tier1") != 404
    assert client.get(f"/escalations/{reference}").status_code == (200 if sees else 404)
    assert client.get(f"/api/v1/escalations/{reference}").status_code == (200 if sees else 404)
