"""Mail written from templates, queued in the request's transaction."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, render_template, url_for
from sqlalchemy.orm import Session

from app.mail.models import OutboxMessage
from app.mail.outbox import SmtpSettings, enqueue


def queue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    template: str,
    reply_to: str | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render ``templates/mail/<template>.txt`` and add it to the outbox."""
    body = render_template(f"mail/{template}.txt", **context)
    domain = urlsplit(current_app.config["BASE_URL"]).hostname or "benchside.local"
    return enqueue(session, to=to, subject=subject, body=body, domain=domain, reply_to=reply_to)


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for a mail, on ``BASE_URL``.

    Never from the request's Host header: anyone can send a request naming another host, and a
    password-reset link pointing there would hand that host the token.
    """
    if has_request_context():
        path = url_for(endpoint, **values)
    else:  # a command (mail ingest, the sweep): the path alone needs no real request
        with current_app.test_request_context():
            path = url_for(endpoint, **values)
    return current_app.config["BASE_URL"].rstrip("/") + path


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
