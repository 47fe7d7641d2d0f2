"""Mail leaves through the outbox: nothing is lost while the mail server is down."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.mail import outbox
from app.mail.models import OutboxMessage
from app.models import utcnow
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
