"""Escalations: response targets in business hours, the API contract, the form that loses
nothing, and the acknowledgement through a real SMTP server."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session, sessionmaker

from app.escalations.sla import Calendar, add_working_time, working_time_between
from app.mail import outbox
from app.roles import Role
from tests.conftest import AuthActions, csrf_token
from tests.escalations import change_escalation_settings, escalation_settings
from tests.factories import make_user
from tests.smtp import SmtpServer

AMSTERDAM = Calendar(holidays=frozenset({date(2026, 12, 25)}))
VALID = {
    "subject": "Blinks 6 times after the power board was replaced",
    "description": "12 V is 12.1 V at CN6101; it still shuts down after 3 s.",
    "category": "technical",
    "model_number": "KDL-55W800C",
}


def test_targets_count_business_hours_only() -> None:
    friday_evening = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)  # 17:30 in Amsterdam
    assert add_working_time(friday_evening, timedelta(hours=2), AMSTERDAM) == datetime(
        2026, 11, 30, 8, 30, tzinfo=UTC
    )  # 30 min on Friday, 90 on Monday from 08:00 local
    christmas_eve = datetime(2026, 12, 24, 16, 0, tzinfo=UTC)
    assert add_working_time(christmas_eve, timedelta(hours=2), AMSTERDAM).date() == date(
        2026, 12, 28
    )
    assert working_time_between(
        friday_evening, datetime(2026, 11, 30, 8, 30, tzinfo=UTC), AMSTERDAM
    ) == timedelta(hours=2)


def test_the_api_contract(client: FlaskClient, auth: AuthActions, session: Session) -> None:
    author = auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    missing = client.post("/api/v1/escalations", json={"category": "gossip"})
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {
        "subject": "Required.",
        "description": "Required.",
        "model_number": "Required.",
        "category": "One of: technical, parts, warranty, other.",
    }
    opened = client.post("/api/v1/escalations", json=VALID, headers={"Idempotency-Key": "abc"})
    assert opened.status_code == 201
    ticket = opened.get_json()
    assert re.fullmatch(r"ESC-\d{4}-\d{6}", ticket["reference"])
    assert ticket["status"] == "open"
    assert ticket["tier"] == "tier1"
    assert datetime.fromisoformat(ticket["first_response_due"]) > datetime.now(UTC)
    again = client.post("/api/v1/escalations", json=VALID, headers={"Idempotency-Key": "abc"})
    assert again.get_json()["reference"] == ticket["reference"]
    url = f"/api/v1/escalations/{ticket['reference']}"
    read = client.get(url).get_json()
    assert read["timeline"][0]["text"] == VALID["description"]
    for role, status in ((Role.TECHNICIAN, 404), (Role.AGENT_TIER1, 200)):
        auth.logout()
        auth.login(role)
        assert client.get(url).status_code == status
    auth.logout()
    manager = make_user(session, role=Role.CENTRE_MANAGER, centre=author.centre)
    session.commit()
    auth.login(user=manager)
    assert client.get(url).status_code == 200


def test_the_acknowledgement_reaches_a_real_mail_server(
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    smtp_server: SmtpServer,
) -> None:
    author = auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    reference = client.post("/api/v1/escalations", json=VALID).get_json()["reference"]
    outbox.deliver_due(
        session_factory, outbox.SmtpSettings(host="127.0.0.1", port=smtp_server.port, timeout=2)
    )
    [mail] = smtp_server.inbox.messages
    assert mail["To"] == author.email
    assert reference in mail["Subject"]
    body = mail.get_content()
    assert "First response by:" in body
    assert "What happens next" in body
    assert VALID["description"] in body
    assert f"/escalations/{reference}" in body


def test_the_form_keeps_everything_typed(client: FlaskClient, auth: AuthActions) -> None:
    auth.login(Role.TECHNICIAN)
    token = csrf_token(client, "/escalations/new")
    page = client.get("/escalations/new").get_data(as_text=True)
    assert 'Subject <span class="required"' in page  # mandatory fields are marked
    typed = {**VALID, "subject": "", "csrf_token": token, "key": "k1", "priority": "normal"}
    refused = client.post("/escalations/new", data=typed)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "12 V is 12.1 V at CN6101" in html
    assert 'value="KDL-55W800C"' in html
    # A draft saved from the browser comes back on the next visit, and goes when sent.
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    assert client.post("/escalations/draft", json={"subject": "half typed"}).get_json() == {
        "saved": True
    }
    assert 'value="half typed"' in client.get("/escalations/new").get_data(as_text=True)
    sent = client.post("/escalations/new", data={**typed, "subject": "Shuts down"})
    assert sent.status_code == 201
    assert "First response by" in sent.get_data(as_text=True)
    twice = client.post("/escalations/new", data={**typed, "subject": "Shuts down"})
    assert re.search(r"ESC-\d{4}-\d{6}", twice.get_data(as_text=True)).group(0) == re.search(  # type: ignore[union-attr]
        r"ESC-\d{4}-\d{6}", sent.get_data(as_text=True)
    ).group(0)  # type: ignore[union-attr]
    assert 'value="half typed"' not in client.get("/escalations/new").get_data(as_text=True)


def test_agents_answer_note_escalate_and_the_sweep_catches_silence(
    client: FlaskClient, auth: AuthActions, session: Session, runner: FlaskCliRunner
) -> None:
    from sqlalchemy import select, update

    from app.escalations.models import Ticket
    from app.mail.models import OutboxMessage

    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    first = client.post("/api/v1/escalations", json=VALID).get_json()["reference"]
    second = client.post("/api/v1/escalations", json={**VALID, "subject": "Another"}).get_json()[
        "reference"
    ]
    auth.logout()
    auth.login(Role.AGENT_TIER1)
    token = auth.csrf()
    assert first in client.get("/escalations").get_data(as_text=True)  # the tier-1 queue
    client.post(
        f"/escalations/{first}/reply",
        data={"text": "Check F5001 for me?", "action": "waiting", "csrf_token": token},
    )
    client.post(
        f"/escalations/{first}/reply",
        data={"text": "Looks like the PSU batch issue", "action": "note", "csrf_token": token},
    )
    client.post(
        f"/escalations/{first}/reply",
        data={"text": "Needs tier 2", "action": "escalate", "csrf_token": token},
    )
    ticket = session.scalar(select(Ticket).where(Ticket.reference == first))
    assert (ticket.tier, ticket.status) == ("tier2", "waiting_on_technician")
    assert ticket.first_responded_at is not None
    replies = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.contains(first))
    ).all()
    assert any("Check F5001 for me?" in m.body_text for m in replies)
    assert not any("PSU batch" in m.body_text for m in replies)  # notes are never mailed
    auth.logout()
    auth.login(
        user=session.get(__import__("app.auth.models", fromlist=["User"]).User, ticket.author_id)
    )
    api = client.get(f"/api/v1/escalations/{first}").get_json()
    assert [e["text"] for e in api["timeline"]][:3] == [
        VALID["description"],
        "Opened in the tier-1 queue for all products.",
        "Check F5001 for me?",
    ]
    assert "PSU batch" not in client.get(f"/escalations/{first}").get_data(as_text=True)
    # Silence past the target: the sweep flags it and sends it on.
    session.execute(
        update(Ticket)
        .where(Ticket.reference == second)
        .values(first_response_due=datetime(2020, 1, 1, tzinfo=UTC))
    )
    session.commit()
    swept = runner.invoke(args=["escalations", "sweep"])
    assert "0 reminded, 1 breached, 1 escalated." in swept.output
    assert "0 breached" in runner.invoke(args=["escalations", "sweep"]).output
    late = session.scalar(select(Ticket).where(Ticket.reference == second))
    session.refresh(late)
    assert (late.tier, late.breached_at is not None) == ("tier2", True)


JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


def test_attachments_are_checked_by_content_and_kept(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    import io

    auth.login(Role.TECHNICIAN)
    token = csrf_token(client, "/escalations/new")
    client.environ_base["HTTP_X_CSRFTOKEN"] = token

    def upload(data: bytes, name: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        with client.post(
            "/escalations/attachments",
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        ) as response:
            return response.status_code, response.get_json()

    assert upload(JPEG, "board.jpg")[0] == 201
    status, body = upload(b"MZ\x90\x00\x03\x00binary", "photo.jpg")  # a program named .jpg
    assert (status, body["error"]) == (
        422,
        "“photo.jpg” is not a photo (JPEG, PNG), a text log or a PDF.",
    )
    assert upload(b"%PDF-1.7 manual", "manual.pdf")[0] == 201
    # The limit, small enough to test cheaply.
    change_escalation_settings(app, attachment_max_bytes=2048)
    status, body = upload(b"x" * 2049, "huge.log")
    assert status == 422
    assert body["error"] == "“huge.log” is larger than 2 KB."
    # Without JavaScript a refused file comes back named, with the text and the kept files.
    typed = {**VALID, "csrf_token": token, "key": "k2", "priority": "normal"}
    refused = client.post(
        "/escalations/new",
        data={**typed, "files": (io.BytesIO(b"\x00\x01\x02"), "core.dump")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "“core.dump” is not a photo" in html
    assert "board.jpg" in html
    assert "manual.pdf" in html
    assert VALID["description"] in html
    sent = client.post("/escalations/new", data=typed)
    assert sent.status_code == 201
    reference = re.search(r"ESC-\d{4}-\d{6}", sent.get_data(as_text=True)).group(0)  # type: ignore[union-attr]
    page = client.get(f"/escalations/{reference}").get_data(as_text=True)
    link = re.search(r'href="(/escalations/[^"]+/files/\d+)">board.jpg', page).group(1)  # type: ignore[union-attr]
    with client.get(link) as download:
        assert download.data == JPEG
    auth.logout()
    auth.login(Role.TECHNICIAN)
    assert client.get(link).status_code == 404  # another centre's technician


def test_the_clock_stands_still_while_waiting_for_the_technician(app: Flask) -> None:
    from app.escalations import workflow
    from app.escalations.models import Ticket

    due = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    ticket = Ticket(resolution_due=due)
    monday_9 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
    cal = escalation_settings(app).calendar
    workflow.pause(ticket, monday_9)
    workflow.pause(ticket, monday_9 + timedelta(hours=1))  # already paused: unchanged
    workflow.resume(ticket, monday_9 + timedelta(hours=3), cal)  # three working hours waited
    assert ticket.paused_at is None
    assert ticket.resolution_due == due + timedelta(hours=3)
