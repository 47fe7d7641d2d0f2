"""The escalations' checked core: services that run without Flask, one policy for every way in,
one idempotency rule, refusals in the API's one JSON shape, statuses checked by the database."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from app.escalations import services, workflow
from app.escalations.models import Ticket, TicketStatus, Tier
from app.exceptions import NotAllowed
from app.idempotency import KeyReused, KeyTooLong
from app.mail.models import OutboxMessage
from app.roles import Role
from tests.conftest import AuthActions
from tests.escalations import escalation_settings
from tests.factories import make_user

SUBMISSION = services.Submission(
    subject="Shuts down after 3 s",
    description="12.1 V at CN6101.",
    category="technical",
    model_number="KDL-55W800C",
)


def test_the_services_run_without_an_application_context(app: Flask, session: Session) -> None:
    """Settings are handed in: nothing reads ``current_app`` (no context is pushed here)."""
    author = make_user(session, role=Role.TECHNICIAN)
    agent = make_user(session, role=Role.AGENT_TIER1)
    settings = escalation_settings(app)
    ticket, new = services.open_ticket(session, author, SUBMISSION, settings=settings)
    assert new
    assert ticket.status is TicketStatus.OPEN
    assert ticket.tier is Tier.TIER1
    workflow.act(session, ticket, agent, "reply", "Check CN6101 again.", settings=settings)
    session.commit()
    mails = session.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id)).all()
    assert mails == [f"[{ticket.reference}] {ticket.subject}"] * 2  # received, then the reply
    assert ticket.reference in services.reply_address(ticket, author, settings=settings)


def test_one_key_one_ticket_by_content(app: Flask, session: Session) -> None:
    author = make_user(session, role=Role.TECHNICIAN)
    settings = escalation_settings(app)
    first, new = services.open_ticket(
        session, author, SUBMISSION, settings=settings, idempotency_key="k1"
    )
    assert new
    assert first.fingerprint is not None
    spaced = services.Submission(**{**SUBMISSION.__dict__, "subject": "  Shuts down  after 3 s"})
    again, new = services.open_ticket(
        session, author, spaced, settings=settings, idempotency_key="k1"
    )
    assert (again.id, new) == (first.id, False)  # the same request, spelled with more spaces
    urgent = services.Submission(**{**SUBMISSION.__dict__, "priority": "urgent"})
    with pytest.raises(KeyReused):
        services.open_ticket(session, author, urgent, settings=settings, idempotency_key="k1")
    with pytest.raises(KeyTooLong):
        services.open_ticket(
            session, author, SUBMISSION, settings=settings, idempotency_key="k" * 81
        )
    session.commit()
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_the_workflow_asks_the_policy(app: Flask, session: Session) -> None:
    author = make_user(session, role=Role.TECHNICIAN)
    tier2 = make_user(session, role=Role.AGENT_TIER2)
    settings = escalation_settings(app)
    ticket, _ = services.open_ticket(session, author, SUBMISSION, settings=settings)
    with pytest.raises(NotAllowed, match="Agents answer with the buttons"):
        workflow.act(session, ticket, tier2, "message", "Hello", settings=settings)
    with pytest.raises(NotAllowed, match="Only support agents"):
        workflow.act(session, ticket, author, "resolve", "Done", settings=settings)
    with pytest.raises(NotAllowed, match="with tier 1"):
        workflow.assign(session, ticket, tier2, by=tier2, settings=settings)
    stranger = make_user(session, role=Role.TECHNICIAN)
    with pytest.raises(services.TicketNotFound):
        services.ticket_for(session, stranger, ticket.reference or "")


def test_the_database_refuses_unknown_statuses(app: Flask, session: Session) -> None:
    author = make_user(session, role=Role.TECHNICIAN)
    ticket, _ = services.open_ticket(session, author, SUBMISSION, settings=escalation_settings(app))
    session.commit()
    for column, value in (("status", "closed"), ("tier", "tier3"), ("priority", "later")):
        with pytest.raises(IntegrityError):
            session.execute(
                text(f"UPDATE escalation_tickets SET {column} = :value WHERE id = :id"),
                {"value": value, "id": ticket.id},
            )
        session.rollback()
    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE escalation_events SET kind = 'gossip'"))
    session.rollback()
    ticket = session.get_one(Ticket, ticket.id)
    ticket.status = "closed"  # type: ignore[assignment]
    with pytest.raises(StatementError):
        session.flush()
    session.rollback()


def test_the_api_body_is_in_the_openapi_document(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    body = document["paths"]["/api/v1/escalations"]["post"]["requestBody"]
    name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = document["components"]["schemas"][name]
    assert set(schema["required"]) == {"subject", "description", "category", "model_number"}
    assert schema["properties"]["priority"]["enum"] == ["normal", "urgent"]
    assert {"serial", "diagnostic_session"} <= set(schema["properties"])


def test_api_refusals_are_the_one_json_shape(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    wrong = client.post(
        "/api/v1/escalations",
        json={"subject": 3, "description": None, "category": "parts", "priority": "soon"},
    )
    assert wrong.status_code == 422
    assert wrong.get_json() == {
        "error": "Not accepted",
        "message": "Some fields are not valid; see errors.",
        "status": 422,
        "errors": {
            "subject": "Must be text.",
            "description": "Required.",
            "model_number": "Required.",
            "priority": "One of: normal, urgent.",
        },
    }
    listed = client.post("/api/v1/escalations", json=["subject"])
    assert listed.status_code == 422
    assert listed.get_json()["message"] == "Send the escalation as a JSON object."
    valid = {
        "subject": "No picture",
        "description": "Blinks twice",
        "category": "technical",
        "model_number": "KDL-55W800C",
        "unknown": "ignored",
    }
    opened = client.post("/api/v1/escalations", json=valid, headers={"Idempotency-Key": "a"})
    assert opened.status_code == 201
    reused = client.post(
        "/api/v1/escalations", json={**valid, "serial": "S1"}, headers={"Idempotency-Key": "a"}
    )
    assert reused.status_code == 409
    assert set(reused.get_json()) == {"error", "message", "status"}
    assert opened.get_json()["reference"] in reused.get_json()["message"]
    too_long = client.post("/api/v1/escalations", json=valid, headers={"Idempotency-Key": "a" * 81})
    assert (too_long.status_code, too_long.get_json()["status"]) == (422, 422)
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1
