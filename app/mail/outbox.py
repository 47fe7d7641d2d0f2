"""Queue mail in the database and deliver it with retries.

``enqueue`` adds a row to the caller's transaction: if the transaction rolls back, no mail goes out,
and if the mail server is down, the message waits. ``deliver_due`` is the worker's step.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.mail.models import OutboxMessage
from app.models import utcnow

MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    use_tls: bool = False
    username: str = ""
    password: str = ""
    sender: str = "Benchside <no-reply@benchside.local>"
    timeout: float = 10.0


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int


def enqueue(
    session: Session, *, to: str, subject: str, body: str, domain: str, reply_to: str | None = None
) -> OutboxMessage:
    message = OutboxMessage(
        message_id=make_msgid(domain=domain),
        to_address=to,
        reply_to=reply_to,
        subject=subject,
        body_text=body,
    )
    session.add(message)
    session.flush()
    return message


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email["Date"] = format_datetime(message.created_at)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body_text)
    return email


def _send(email: EmailMessage, settings: SmtpSettings) -> None:
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.use_tls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(email)


def backoff(attempts: int) -> timedelta:
    """Wait 1, 2, 4 ... minutes between attempts, at most an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def deliver_due(
    factory: sessionmaker[Session], settings: SmtpSettings, *, limit: int = 50
) -> DeliveryReport:
    """Send what is due, one message per transaction.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several workers on PostgreSQL never send
    the same message twice; SQLite has one writer and ignores the clause.
    """
    sent = failed = 0
    for _ in range(limit):
        with factory.begin() as session:
            now = utcnow()
            message = session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if message is None:
                break
            message.attempts += 1
            try:
                _send(build_email(message, settings.sender), settings)
            except (OSError, smtplib.SMTPException) as exc:
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                message.next_attempt_at = now + backoff(message.attempts)
                failed += 1
                if failed >= 3 and sent == 0:
                    break  # the server is down; stop hammering it until the next run
            else:
                message.sent_at = now
                message.last_error = None
                sent += 1
    return DeliveryReport(sent=sent, failed=failed)


def retry_now(factory: sessionmaker[Session]) -> int:
    """Make every waiting message due at once (the mail server is back: don't wait out the
    backoff). Returns how many."""
    with factory.begin() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at > utcnow())
            .values(next_attempt_at=utcnow())
        )
    return result.rowcount or 0


def sent_recently(session: Session, *, to: str, subject: str, since: datetime) -> int:
    """How many messages with this subject were queued for ``to`` since ``since``."""
    query = select(func.count()).where(
        OutboxMessage.to_address == to,
        OutboxMessage.subject == subject,
        OutboxMessage.created_at >= since,
    )
    return session.scalar(query) or 0
