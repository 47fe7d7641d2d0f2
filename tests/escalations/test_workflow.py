"""After a ticket is opened: assignment, engineering consults back to tier 2, reminders that
respect business hours, clocks and the dashboard, mail that waits out a mail server's outage,
and a form posted after the sign-in expired."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.auth.models import LoginSession, ParkedForm, User
from app.escalations import workflow
from app.escalations.models import Ticket
from app.mail.models import OutboxMessage
from app.roles import Role
from tests.conftest import AuthActions
from tests.escalations import escalation_settings
from tests.factories import PASSWORD, make_user
from tests.smtp import SmtpServer

VALID = {
    "subject": "Blinks 6 times after the power board was replaced",
    "description": "12 V is 12.1 V at CN6101; it still shuts down after 3 s.",
    "category": "technical",
    "model_number": "KDL-55W800C",
}


def open_ticket(client: FlaskClient, auth: AuthActions, **changes: str) -> str:
    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    response = client.post("/api/v1/escalations", json={**VALID, **changes})
    assert response.status_code == 201, response.get_json()
    auth.logout()
    return str(response.get_json()["reference"])


def act(client: FlaskClient, auth: AuthActions, reference: str, action: str, text: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/escalations/{reference}/reply",
        data={"text": text, "action": action, "csrf_token": auth.csrf()},
    )


def ticket_of(session: Session, reference: str) -> Ticket:
    session.expire_all()
    found = session.scalar(select(Ticket).where(Ticket.reference == reference))
    assert found is not None
    return found


def mails_to(session: Session, address: str) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == address)))


def test_tier_two_consults_engineering_and_keeps_the_ticket(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    reference = open_ticket(client, auth)
    tier1 = auth.login(Role.AGENT_TIER1)
    assert (
        client.post(
            f"/escalations/{reference}/assign", data={"take": "1", "csrf_token": auth.csrf()}
        ).status_code
        == 302
    )
    assert ticket_of(session, reference).assignee_id == tier1.id
    assert reference in client.get("/escalations?assigned=mine").get_data(as_text=True)
    assert reference not in client.get("/escalations?assigned=unassigned").get_data(as_text=True)
    # Tier 1 cannot consult engineering: the typed question comes back, with the reason.
    refused = act(client, auth, reference, "consult", "Is the PSU batch affected?")
    assert refused.status_code == 403
    assert "Is the PSU batch affected?" in refused.get_data(as_text=True)
    assert "Tier 2 consults engineering" in refused.get_data(as_text=True)
    act(client, auth, reference, "escalate", "Needs tier 2")
    auth.logout()

    tier2 = auth.login(Role.AGENT_TIER2)
    act(client, auth, reference, "consult", "Is batch 2309 of the APS-395 affected?")
    ticket = ticket_of(session, reference)
    assert (ticket.tier, ticket.assignee_id, ticket.consult_since is not None) == (
        "tier2",
        tier2.id,
        True,
    )
    auth.logout()

    auth.login(Role.ENGINEER)
    queue = client.get("/escalations?tier=engineering").get_data(as_text=True)
    assert reference in queue  # the consult sits in engineering's queue
    page = client.get(f"/escalations/{reference}").get_data(as_text=True)
    assert "Is batch 2309 of the APS-395 affected?" in page
    assert 'value="consult_answer"' in page
    act(client, auth, reference, "consult_answer", "Yes: replace C6120 as well.")
    auth.logout()

    ticket = ticket_of(session, reference)
    assert (ticket.tier, ticket.consult_since) == ("tier2", None)
    [told] = [m for m in mails_to(session, tier2.email) if "Engineering answered" in m.subject]
    assert "replace C6120" in told.body_text
    # Consults are internal: the technician sees neither the question nor the answer.
    author = session.get(User, ticket.author_id)
    auth.login(user=author)
    timeline = client.get(f"/api/v1/escalations/{reference}").get_json()["timeline"]
    texts = " ".join(e["text"] for e in timeline)
    assert "batch 2309" not in texts
    assert "C6120" not in texts
    assert "C6120" not in client.get(f"/escalations/{reference}").get_data(as_text=True)
    assert all("C6120" not in m.body_text for m in mails_to(session, author.email))


def test_an_agent_of_another_tier_cannot_be_assigned(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    reference = open_ticket(client, auth)
    engineer = make_user(session, role=Role.ENGINEER)
    session.commit()
    auth.login(Role.AGENT_TIER1)
    response = client.post(
        f"/escalations/{reference}/assign",
        data={"assignee": str(engineer.id), "csrf_token": auth.csrf()},
        follow_redirects=True,
    )
    assert "does not work in tier1" in response.get_data(as_text=True)
    assert ticket_of(session, reference).assignee_id is None


def test_reminders_come_before_a_target_and_only_in_business_hours(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    reference = open_ticket(client, auth)
    agent = auth.login(Role.AGENT_TIER1)
    client.post(f"/escalations/{reference}/assign", data={"take": "1", "csrf_token": auth.csrf()})
    ticket = ticket_of(session, reference)
    # Due Monday 7 December, 08:30 in Amsterdam.
    ticket.first_response_due = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
    session.commit()

    def sweep(at: datetime) -> dict[str, int]:
        counts = workflow.sweep(session, settings=escalation_settings(app), now=at)
        session.commit()
        return counts

    assert sweep(datetime(2026, 12, 4, 14, 0, tzinfo=UTC))["reminded"] == 0  # 3.5 working hours
    assert sweep(datetime(2026, 12, 6, 23, 0, tzinfo=UTC))["reminded"] == 0  # midnight: never
    assert sweep(datetime(2026, 12, 7, 6, 0, tzinfo=UTC))["reminded"] == 0  # 07:00: still closed
    # Friday 17:45: 15 working minutes on Friday and 30 on Monday are left, within the hour.
    assert sweep(datetime(2026, 12, 4, 16, 45, tzinfo=UTC))["reminded"] == 1
    assert sweep(datetime(2026, 12, 4, 16, 46, tzinfo=UTC))["reminded"] == 0  # once per target
    [reminder] = [m for m in mails_to(session, agent.email) if "Reminder" in m.subject]
    assert reminder.subject == f"[{reference}] Reminder: first response due in 45 min"
    # Answered: the next reminder is for the resolution target.
    act(client, auth, reference, "reply", "Check CN6101 under load, please.")
    ticket = ticket_of(session, reference)
    assert ticket.reminded_at is None
    ticket.resolution_due = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    session.commit()
    assert sweep(datetime(2026, 12, 8, 9, 30, tzinfo=UTC))["reminded"] == 1


def test_clocks_the_late_filter_and_the_dashboard(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    on_time = open_ticket(client, auth, subject="On time")
    late = open_ticket(client, auth, subject="Forgotten")
    ticket = ticket_of(session, late)
    ticket.first_response_due = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ticket.resolution_due = datetime(2026, 1, 9, 9, 0, tzinfo=UTC)
    session.commit()
    auth.login(Role.AGENT_TIER1)
    queue = client.get("/escalations").get_data(as_text=True)
    assert re.search(r"\d+ h \d\d min left|\d+ min left", queue)
    assert "late by" in queue
    only_late = client.get("/escalations?late=1").get_data(as_text=True)
    assert late in only_late
    assert on_time not in only_late
    page = client.get(f"/escalations/{late}").get_data(as_text=True)
    assert "First response" in page
    assert "late by" in page
    act(client, auth, on_time, "reply", "Which firmware is it on?")
    dashboard = client.get("/escalations/dashboard")
    assert dashboard.status_code == 200
    html = dashboard.get_data(as_text=True)
    assert late in html  # among the late
    assert "<svg" in html
    assert "First response, week by week" in html
    assert re.search(r"<td>1</td><td>\d+\.\d h</td>", html)  # this week: one answered
    auth.logout()
    auth.login(Role.TECHNICIAN)
    assert client.get("/escalations/dashboard").status_code == 403


def test_mail_waits_out_a_mail_server_outage_and_goes_once(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    session: Session,
    runner: FlaskCliRunner,
    smtp_server: SmtpServer,
) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    smtp_server.stop()
    references = [open_ticket(client, auth, subject=f"Outage {n}") for n in range(3)]
    assert len(set(references)) == 3  # the tickets are open all the same
    down = runner.invoke(args=["outbox", "run", "--once"])
    assert "Sent 0" in down.output
    assert "will retry" in down.output
    assert not smtp_server.inbox.messages
    smtp_server.start()
    up = runner.invoke(args=["outbox", "run", "--once", "--retry-now"])
    assert "Sent 3, failed 0." in up.output, up.output
    assert "Sent 0, failed 0." in runner.invoke(args=["outbox", "run", "--once"]).output
    subjects = sorted(str(m["Subject"]) for m in smtp_server.inbox.messages)
    assert len(subjects) == 3
    for reference in references:
        assert sum(reference in s for s in subjects) == 1
    reply_to = str(smtp_server.inbox.messages[0]["Reply-To"])
    assert re.fullmatch(r"escalations\+ESC-\d{4}-\d{6}\.[0-9a-f]{16}@benchside\.local", reply_to)


def test_a_form_sent_after_the_sign_in_expired_survives_signing_in_again(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    user = auth.login(Role.TECHNICIAN)
    page = client.get("/escalations/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))  # expired
    session.commit()
    typed = {
        **VALID,
        "description": "Typed for twenty minutes\x00 before lunch.",
        "serial": "4012345",
        "priority": "urgent",
        "csrf_token": token,
        "key": "k-123",
    }
    posted = client.post("/escalations/new", data=typed)
    assert posted.status_code == 303
    login = posted.headers["Location"]
    assert "parked" in login
    back = client.post(
        login,
        data={"email": user.email, "password": PASSWORD, "csrf_token": auth.csrf()},
    )
    assert back.status_code == 302
    form = client.get(back.headers["Location"])
    html = form.get_data(as_text=True)
    assert "Here is what you sent before signing in again" in html
    assert "Typed for twenty minutes before lunch." in html
    assert 'value="4012345"' in html
    assert 'value="k-123"' in html
    assert '<option selected value="urgent">' in html or 'value="urgent" selected' in html
    # Claimed once: the link does not hand the text to anyone again.
    assert "Typed for twenty" not in client.get(back.headers["Location"]).get_data(as_text=True)
    assert not session.scalars(select(Ticket)).all()  # nothing was sent behind their back
    assert not session.scalars(select(ParkedForm)).all()


def test_each_tier_works_its_own_tickets_and_technicians_find_theirs(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    reference = open_ticket(client, auth)
    auth.login(Role.AGENT_TIER1)
    act(client, auth, reference, "escalate", "Needs tier 2")
    # Now with tier 2: tier 1 may add a note but not answer the technician or take it.
    refused = act(client, auth, reference, "reply", "Try the other board")
    assert refused.status_code == 403
    assert "Try the other board" in refused.get_data(as_text=True)  # kept, with the reason
    assert act(client, auth, reference, "note", "Context for tier 2").status_code == 302
    taken = client.post(
        f"/escalations/{reference}/assign", data={"take": "1", "csrf_token": auth.csrf()}
    )
    assert taken.status_code == 403
    auth.logout()
    ticket = ticket_of(session, reference)
    author = session.get(User, ticket.author_id)
    auth.login(user=author)
    mine = client.get("/escalations/mine").get_data(as_text=True)
    assert reference in mine
    assert "tier 2" in mine
    auth.logout()
    auth.login(Role.TECHNICIAN)  # another centre's technician
    assert reference not in client.get("/escalations/mine").get_data(as_text=True)
