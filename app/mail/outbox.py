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


class _Connection:
    """One SMTP session for a whole round, opened on the first message: a session per message
    costs a connection, a greeting and a login each time."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def send(self, email: EmailMessage) -> None:
        if self.smtp is None:
            settings = self.settings
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            try:
                if settings.use_tls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username:
                    smtp.login(settings.username, settings.password)
            except BaseException:
                smtp.close()
                raise
            self.smtp = smtp
        try:
            self.smtp.send_message(email)
        except (OSError, smtplib.SMTPServerDisconnected):
            self.close()  # the next message starts a fresh session
            raise
        except smtplib.SMTPException:
            try:
                self.smtp.rset()  # a refused message leaves the session usable
            except (OSError, smtplib.SMTPException):
                self.close()
            raise

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


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
    connection = _Connection(settings)
    try:
        for _ in range(limit):
            outcome = _deliver_one(factory, connection, settings)
            if outcome is None:
                break
            if outcome:
                sent += 1
            else:
                failed += 1
                if failed >= 3 and sent == 0:
                    break  # the server is down; stop hammering it until the next run
    finally:
        connection.close()
    return DeliveryReport(sent=sent, failed=failed)


def _deliver_one(
    factory: sessionmaker[Session], connection: _Connection, settings: SmtpSettings
) -> bool | None:
    """Claim and send the next due message: True if sent, False if it failed, None if nothing
    is due."""
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
            return None
        message.attempts += 1
        try:
            email = build_email(message, settings.sender)
        except (ValueError, TypeError) as exc:
            # A message that cannot be written (a header the email package refuses) would fail
            # the same way at every try: set it aside for a day rather than block the queue.
            message.last_error = f"Cannot be built: {type(exc).__name__}: {exc}"[:2000]
            message.next_attempt_at = now + timedelta(days=1)
            return False
        try:
            connection.send(email)
        except (OSError, smtplib.SMTPException) as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.next_attempt_at = now + backoff(message.attempts)
            return False
        message.sent_at = now
        message.last_error = None
        return True


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
