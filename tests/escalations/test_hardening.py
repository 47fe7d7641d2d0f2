"""Escalations under the inputs and mishaps that lose work in other portals: header injection,
broken mail, a stale idempotency key, a reload of a prefilled form, forged replies, and a
shared computer."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import LoginSession, User
from app.escalations import workflow
from app.escalations.attachments import kind_of
from app.escalations.inbound import _without_quotes
from app.escalations.models import InboundMail, Ticket
from app.mail import outbox
from app.mail.models import OutboxMessage
from app.roles import Role
from tests.conftest import AuthActions, csrf_token
from tests.escalations import escalation_settings
from tests.factories import PASSWORD, make_user
from tests.smtp import SmtpServer

VALID = {
    "subject": "Blinks 6 times after the power board was replaced",
    "description": "12 V is 12.1 V at CN6101; it still shuts down after 3 s.",
    "category": "technical",
    "model_number": "KDL-55W800C",
}


def ticket_of(session: Session, reference: str) -> Ticket:
    session.expire_all()
    found = session.scalar(select(Ticket).where(Ticket.reference == reference))
    assert found is not None
    return found


def test_a_subject_cannot_add_mail_headers_nor_stop_the_outbox(
    client: FlaskClient,
    auth: AuthActions,
    session: Session,
    session_factory: sessionmaker[Session],
    smtp_server: SmtpServer,
) -> None:
    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    injected = {**VALID, "subject": "No picture\r\nBcc: everyone@example.com"}
    reference = client.post("/api/v1/escalations", json=injected).get_json()["reference"]
    assert ticket_of(session, reference).subject == "No picture Bcc: everyone@example.com"
    # A message the email package refuses to write waits aside; the rest still goes.
    session.add(
        OutboxMessage(
            message_id="<broken@x>", to_address="a@example.com", subject="a\nb", body_text="x"
        )
    )
    session.commit()
    report = outbox.deliver_due(
        session_factory, outbox.SmtpSettings(host="127.0.0.1", port=smtp_server.port, timeout=2)
    )
    assert (report.sent, report.failed) == (1, 1)
    [mail] = smtp_server.inbox.messages
    assert mail["Bcc"] is None
    assert reference in str(mail["Subject"])
    broken = session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == "<broken@x>"))
    assert broken is not None
    assert broken.last_error.startswith("Cannot be built")


def test_a_stale_key_never_swallows_a_new_escalation(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    token = csrf_token(client, "/escalations/new")
    form = {**VALID, "key": "page-key-1", "csrf_token": token}
    assert client.post("/escalations/new", data=form).status_code == 201
    assert client.post("/escalations/new", data=form).status_code == 201  # the double click
    # Back, a new problem typed into the old page (same key): a second ticket, not the first.
    other = {**form, "subject": "Remote does not pair", "description": "Pairing LED never lit."}
    assert client.post("/escalations/new", data=other).status_code == 201
    subjects = sorted(session.scalars(select(Ticket.subject)).all())
    assert subjects == sorted([VALID["subject"], "Remote does not pair"])
    # The API: the same key again answers as the first time; other content is a conflict.
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    first = client.post("/api/v1/escalations", json=VALID, headers={"Idempotency-Key": "k1"})
    again = client.post("/api/v1/escalations", json=VALID, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json()["reference"] == again.get_json()["reference"]
    conflict = client.post(
        "/api/v1/escalations", json={**VALID, "subject": "Else"}, headers={"Idempotency-Key": "k1"}
    )
    assert conflict.status_code == 409
    assert "Idempotency-Key" in conflict.get_json()["message"]  # the one idempotency helper's
    long_key = client.post("/api/v1/escalations", json=VALID, headers={"Idempotency-Key": "k" * 81})
    assert long_key.status_code == 422


def test_a_reload_of_a_form_from_a_diagnostic_walk_keeps_what_was_typed(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, "/escalations/new")
    walk = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
    typed = {**VALID, "description": "Typed after the walk.", "diagnostic_session": walk}
    assert client.post("/escalations/draft", json=typed).get_json() == {"saved": True}
    html = client.get(f"/escalations/new?session={walk}").get_data(as_text=True)
    assert "Typed after the walk." in html
    assert f'value="{walk}"' in html


def test_answers_escalation_reasons_and_not_solved(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    author = auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    reference = client.post("/api/v1/escalations", json=VALID).get_json()["reference"]
    auth.logout()
    auth.login(Role.AGENT_TIER1)
    token = auth.csrf()
    url = f"/escalations/{reference}/reply"
    client.post(
        url, data={"text": "Replace the PSU, APS-395.", "action": "resolve", "csrf_token": token}
    )
    ticket = ticket_of(session, reference)
    assert ticket.status == "resolved"
    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == author.email))
    assert any("Replace the PSU, APS-395." in m.body_text for m in mails)
    auth.logout()
    auth.login(user=author)
    page = client.get(f"/escalations/{reference}").get_data(as_text=True)
    assert "Not solved: take it further" in page  # a resolved ticket can still be taken further
    client.post(
        url,
        data={
            "text": "Same fault with the new PSU.",
            "action": "not_solved",
            "csrf_token": auth.csrf(),
        },
    )
    ticket = ticket_of(session, reference)
    assert (ticket.status, ticket.tier) == ("open", "tier2")
    auth.logout()
    auth.login(Role.AGENT_TIER2)
    client.post(
        url,
        data={
            "text": "tier 1 did not check the fuse",
            "action": "escalate",
            "csrf_token": auth.csrf(),
        },
    )
    auth.logout()
    auth.login(user=author)
    timeline = client.get(f"/api/v1/escalations/{reference}").get_json()["timeline"]
    texts = [e["text"] for e in timeline]
    assert "Escalated to engineering." in texts
    assert not any("did not check the fuse" in t for t in texts)  # the reason is internal


def test_silence_escalates_tier_by_tier(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    reference = client.post("/api/v1/escalations", json=VALID).get_json()["reference"]
    moments = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 3, 9, 0, tzinfo=UTC)]
    tiers = []
    for moment in moments:
        ticket = ticket_of(session, reference)
        ticket.first_response_due = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
        session.commit()
        settings = escalation_settings(app)
        workflow.sweep(session, settings=settings, now=moment)
        assert workflow.sweep(session, settings=settings, now=moment)["escalated"] == 0  # once
        session.commit()
        tiers.append(ticket_of(session, reference).tier)
    assert tiers == ["tier2", "engineering"]


def test_mail_that_is_broken_is_kept_and_forged_replies_do_not_thread(
    runner: FlaskCliRunner, session: Session
) -> None:
    technician = make_user(session, role=Role.TECHNICIAN, email="tech.h@example.com")
    agent = make_user(session, role=Role.AGENT_TIER1, email="agent.h@example.com")
    session.commit()
    broken = (
        b"From: tech.h@example.com\r\nTo: escalations@benchside.local, a@\r\n"
        b"Subject: Model: KDL-55W800C dead\r\nMessage-ID: <x\x00y@example.com>\r\n\r\n"
        b"Model: KDL-55W800C\r\nNo standby LED.\r\n"
    )
    result = runner.invoke(args=["mail", "ingest"], input=broken)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("opened ESC-")
    reference = result.output.split()[1]
    stored = session.scalar(select(InboundMail))
    assert stored is not None
    assert stored.message_id == "<xy@example.com>"
    # An agent's address in From and the reference in the subject: not enough to post into it.
    forged = (
        f"From: agent.h@example.com\r\nTo: escalations@benchside.local\r\n"
        f"Subject: Re: [{reference}]\r\nMessage-ID: <forged@example.com>\r\n\r\nClosing this.\r\n"
    ).encode()
    assert not runner.invoke(args=["mail", "ingest"], input=forged).output.startswith("threaded")
    ticket = ticket_of(session, reference)
    assert all("Closing this." not in e.body for e in ticket.events)
    assert technician.id == ticket.author_id
    assert agent.email != ticket.events[-1].author


def test_text_answered_between_quotes_is_kept() -> None:
    answers = "Answers below:\n> Fuse F1?\n0.3 ohm, fine.\n> CN6101?\n12.1 V"
    reply = answers + "\n\nOn Mon, support wrote:\n> old"
    assert _without_quotes(reply) == answers
    assert (
        kind_of(b"a" * 4095 + "µV".encode()) == "text/plain"
    )  # a character across the sample's end


def test_a_parked_form_is_only_handed_back_to_its_own_account(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    first = auth.login(Role.TECHNICIAN)
    token = csrf_token(client, "/escalations/new")
    session.execute(delete(LoginSession).where(LoginSession.user_id == first.id))
    session.commit()
    posted = client.post(
        "/escalations/new", data={**VALID, "description": "Private notes.", "csrf_token": token}
    )
    login_url = posted.headers["Location"]
    # Someone else signs in on that computer, on that page.
    second = make_user(session, role=Role.TECHNICIAN)
    session.commit()
    back = client.post(
        login_url,
        data={"email": second.email, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    html = client.get(back.headers["Location"]).get_data(as_text=True)
    assert "Private notes." not in html
    auth.logout()
    back = client.post(
        login_url,
        data={"email": first.email, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert "Private notes." in client.get(back.headers["Location"]).get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(User)) == 2
