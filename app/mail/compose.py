"""The web edge of mail: the mailer and SMTP settings of the running app."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from app.extensions import current_settings
from app.mail.models import OutboxMessage
from app.mail.outbox import SmtpSettings


def queue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    template: str,
    reply_to: str | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render ``templates/mail/<template>.txt`` and add it to the outbox (the web edge's way to
    ``Mailer.queue``; services are handed the mailer itself)."""
    return current_settings().mail.queue(
        session, to=to, subject=subject, template=template, reply_to=reply_to, **context
    )


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for a mail, on ``BASE_URL`` (see ``app.mail.mailer``)."""
    return current_settings().mail.link(endpoint, **values)


def smtp_settings() -> SmtpSettings:
    config = current_app.config
    return SmtpSettings(
        host=config["MAIL_SERVER"],
        port=config["MAIL_PORT"],
        use_tls=config["MAIL_USE_TLS"],
        username=config["MAIL_USERNAME"],
        password=config["MAIL_PASSWORD"],
        sender=config["MAIL_DEFAULT_SENDER"],
        give_up_after=config["OUTBOX_GIVE_UP_AFTER"],
    )
