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
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
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
    # A 5xx can be a mail server's passing misconfiguration, so a message is refused this many
    # times in a row before the outbox gives up on it (and admins see it).
    give_up_after: int = 3


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    gave_up: int = 0


def enqueue(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    domain: str,
    reply_to: str | None = None,
    body_html: str | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        message_id=make_msgid(domain=domain),
        to_address=to,
        reply_to=reply_to,
        subject=subject,
        body_text=body,
        body_html=body_html,
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
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
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


def is_permanent(error: Exception) -> bool:
    """Whether the server refused for good (SMTP 5xx) rather than for now (4xx, no answer)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, ValueError | TypeError)  # a message the email package cannot write


def describe(error: Exception) -> str:
    """The server's own words where it gave some, for the person who reads the failed list."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{code} {_text(reply)} ({address})"
            for address, (code, reply) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, ValueError | TypeError):
        return f"Cannot be built: {type(error).__name__}: {error}"
    return f"{type(error).__name__}: {error}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


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
    sent = failed = gave_up = 0
    connection = _Connection(settings)
    try:
        for _ in range(limit):
            outcome = _deliver_one(factory, connection, settings)
            if outcome is None:
                break
            if outcome == SENT:
                sent += 1
            else:
                failed += 1
                gave_up += outcome == GAVE_UP
                if failed >= 3 and sent == 0 and outcome == RETRY:
                    break  # the server is down; stop hammering it until the next run
    finally:
        connection.close()
    return DeliveryReport(sent=sent, failed=failed, gave_up=gave_up)


SENT, RETRY, GAVE_UP = "sent", "retry", "gave up"


def _deliver_one(
    factory: sessionmaker[Session], connection: _Connection, settings: SmtpSettings
) -> str | None:
    """Claim and send the next due message: ``SENT``, ``RETRY`` (it waits its backoff),
    ``GAVE_UP`` (refused for good too often), or None if nothing is due."""
    with factory.begin() as session:
        now = utcnow()
        message = session.scalar(
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.gave_up_at.is_(None),
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if message is None:
            return None
        message.attempts += 1
        try:
            connection.send(build_email(message, settings.sender))
        except (OSError, smtplib.SMTPException, ValueError, TypeError) as exc:
            message.last_error = describe(exc)[:2000]
            if not is_permanent(exc):
                message.refusals = 0
                message.next_attempt_at = now + backoff(message.attempts)
                return RETRY
            message.refusals += 1
            if message.refusals >= settings.give_up_after:
                message.gave_up_at = now
                return GAVE_UP
            message.next_attempt_at = now + backoff(message.attempts)
            return RETRY
        message.sent_at = now
        message.last_error = None
        message.refusals = 0
        return SENT


def given_up(session: Session, *, limit: int = 200) -> list[OutboxMessage]:
    """Messages the outbox stopped trying, newest first: for an admin to read and act on."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.gave_up_at.is_not(None), OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.gave_up_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def try_again(session: Session, message_id: int) -> bool:
    """Put a given-up message back in the queue (the address was corrected, the server fixed).
    False when it was not given up (sent meanwhile, or already back)."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.gave_up_at.is_not(None))
        .values(gave_up_at=None, refusals=0, next_attempt_at=utcnow())
    )
    return bool(cast(CursorResult[Any], result).rowcount)


def retry_now(factory: sessionmaker[Session]) -> int:
    """Make every waiting message due at once (the mail server is back: don't wait out the
    backoff). Returns how many."""
    with factory.begin() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at > utcnow())
            .values(next_attempt_at=utcnow())
        )
    return cast(CursorResult[Any], result).rowcount or 0


def sent_recently(session: Session, *, to: str, subject: str, since: datetime) -> int:
    """How many messages with this subject were queued for ``to`` since ``since``."""
    query = select(func.count()).where(
        OutboxMessage.to_address == to,
        OutboxMessage.subject == subject,
        OutboxMessage.created_at >= since,
    )
    return session.scalar(query) or 0
