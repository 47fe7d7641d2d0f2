"""Mail leaves through the outbox: nothing is lost while the mail server is down."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.mail import outbox
from app.mail.models import OutboxMessage
from app.models import utcnow
from app.roles import Role
from tests.smtp import SmtpServer


def settings(server: SmtpServer) -> outbox.SmtpSettings:
    return outbox.SmtpSettings(host="127.0.0.1", port=server.port, timeout=2)


def queue(session: Session, to: str = "tech@example.com") -> OutboxMessage:
    message = outbox.enqueue(
        session, to=to, subject="Your reference ESC-2026-000001", body="Hello\n", domain="test"
    )
    session.commit()
    return message


def test_queued_mail_is_delivered_once(
    session: Session, session_factory: sessionmaker[Session], smtp_server: SmtpServer
) -> None:
    message = queue(session)
    report = outbox.deliver_due(session_factory, settings(smtp_server))
    assert (report.sent, report.failed) == (1, 0)
    [received] = smtp_server.inbox.messages
    assert received["To"] == "tech@example.com"
    assert received["Subject"] == "Your reference ESC-2026-000001"
    assert received["Message-ID"] == message.message_id
    assert received.get_content().strip() == "Hello"
    again = outbox.deliver_due(session_factory, settings(smtp_server))
    assert (again.sent, again.failed) == (0, 0)
    assert len(smtp_server.inbox.messages) == 1


def test_server_down_then_up_delivers_everything(
    session: Session, session_factory: sessionmaker[Session], smtp_server: SmtpServer
) -> None:
    smtp_server.stop()
    for n in range(3):
        queue(session, to=f"t{n}@example.com")
    down = outbox.deliver_due(session_factory, settings(smtp_server))
    assert down.sent == 0
    assert down.failed == 3
    pending = session.scalars(select(OutboxMessage)).all()
    for message in pending:
        session.refresh(message)
        assert message.sent_at is None
        assert message.attempts == 1
        assert message.last_error
        assert message.next_attempt_at > utcnow()
    smtp_server.start()
    # Not due yet: the worker waits out the backoff rather than hammering a recovering server.
    assert outbox.deliver_due(session_factory, settings(smtp_server)).sent == 0
    for message in pending:
        message.next_attempt_at = utcnow() - timedelta(seconds=1)
    session.commit()
    up = outbox.deliver_due(session_factory, settings(smtp_server))
    assert up.sent == 3
    assert sorted(m["To"] for m in smtp_server.inbox.messages) == [
        "t0@example.com",
        "t1@example.com",
        "t2@example.com",
    ]


def test_backoff_grows_and_is_capped() -> None:
    assert outbox.backoff(1) == timedelta(minutes=1)
    assert outbox.backoff(3) == timedelta(minutes=4)
    assert outbox.backoff(30) == timedelta(hours=1)


def test_outbox_run_once_command(runner, session: Session, smtp_server: SmtpServer, app) -> None:
    app.config["MAIL_PORT"] = smtp_server.port
    queue(session)
    result = runner.invoke(args=["outbox", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "Sent 1, failed 0" in result.output
    assert len(smtp_server.inbox.messages) == 1


def due_again(session: Session) -> None:
    """Skip the backoff, as time passing would."""
    for message in session.scalars(select(OutboxMessage)):
        session.refresh(message)
        message.next_attempt_at = utcnow() - timedelta(seconds=1)
    session.commit()


def test_a_permanent_refusal_is_given_up_after_the_cap_and_listed(
    session: Session, session_factory: sessionmaker[Session], smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.refuse["gone@example.com"] = "550 5.1.1 No such user"
    refused = queue(session, to="gone@example.com")
    fine = queue(session, to="tech@example.com")
    cap = settings(smtp_server).give_up_after
    for round_ in range(1, cap + 1):
        report = outbox.deliver_due(session_factory, settings(smtp_server))
        assert report.gave_up == (1 if round_ == cap else 0)
        due_again(session)
    session.refresh(refused)
    assert refused.gave_up_at is not None
    assert refused.sent_at is None
    assert refused.attempts == cap
    assert "550" in (refused.last_error or "")
    # Given up: never tried again, however often the worker runs.
    assert outbox.deliver_due(session_factory, settings(smtp_server)).failed == 0
    assert outbox.given_up(session) == [refused]
    session.refresh(fine)
    assert fine.sent_at is not None
    assert [m["To"] for m in smtp_server.inbox.messages] == ["tech@example.com"]


def test_a_passing_refusal_is_retried_without_end(
    session: Session, session_factory: sessionmaker[Session], smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.refuse["busy@example.com"] = "451 4.3.0 Try again later"
    message = queue(session, to="busy@example.com")
    for _ in range(settings(smtp_server).give_up_after + 2):
        assert outbox.deliver_due(session_factory, settings(smtp_server)).gave_up == 0
        due_again(session)
    session.refresh(message)
    assert message.gave_up_at is None
    del smtp_server.inbox.refuse["busy@example.com"]
    assert outbox.deliver_due(session_factory, settings(smtp_server)).sent == 1


def test_a_given_up_message_can_be_sent_again(
    session: Session, session_factory: sessionmaker[Session], smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.refuse["gone@example.com"] = "550 5.1.1 No such user"
    message = queue(session, to="gone@example.com")
    for _ in range(settings(smtp_server).give_up_after):
        outbox.deliver_due(session_factory, settings(smtp_server))
        due_again(session)
    assert outbox.given_up(session) == [message]
    del smtp_server.inbox.refuse["gone@example.com"]  # the mailbox was made
    assert outbox.try_again(session, message.id)
    assert not outbox.try_again(session, message.id)  # once is enough
    session.commit()
    assert outbox.deliver_due(session_factory, settings(smtp_server)).sent == 1
    assert outbox.given_up(session) == []


def test_the_failed_command_lists_and_requeues(
    runner, session: Session, session_factory: sessionmaker[Session], smtp_server: SmtpServer, app
) -> None:
    app.config["MAIL_PORT"] = smtp_server.port
    smtp_server.inbox.refuse["gone@example.com"] = "550 5.1.1 No such user"
    message = queue(session, to="gone@example.com")
    outputs = []
    for _ in range(settings(smtp_server).give_up_after):
        outputs.append(runner.invoke(args=["outbox", "run", "--once"]).output)
        due_again(session)
    assert "gave up on 1" in outputs[-1]
    listed = runner.invoke(args=["outbox", "failed"])
    assert "gone@example.com" in listed.output
    assert "550 5.1.1 No such user" in listed.output
    assert "1 given up." in listed.output
    requeued = runner.invoke(args=["outbox", "failed", "--retry", str(message.id)])
    assert f"{message.id}: queued again" in requeued.output
    session.refresh(message)
    assert message.gave_up_at is None


def test_admins_see_undelivered_mail_and_send_it_again(
    app, client, auth, session: Session, session_factory: sessionmaker[Session], smtp_server
) -> None:
    smtp_server.inbox.refuse["gone@example.com"] = "550 5.1.1 No such user"
    message = queue(session, to="gone@example.com")
    for _ in range(settings(smtp_server).give_up_after):
        outbox.deliver_due(session_factory, settings(smtp_server))
        due_again(session)
    auth.login(Role.ADMIN)
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "gone@example.com" in page
    assert "550 5.1.1 No such user (gone@example.com)" in page
    sent = client.post(f"/admin/mail/{message.id}/retry", data={"csrf_token": auth.csrf()})
    assert sent.status_code == 302
    session.refresh(message)
    assert message.gave_up_at is None
    assert "Nothing: every message" in client.get("/admin/mail").get_data(as_text=True)
