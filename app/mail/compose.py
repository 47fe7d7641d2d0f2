"""The web edge of mail: the SMTP settings of the running app (services are handed the
``Mailer`` itself, ``current_settings().mail``)."""

from __future__ import annotations

from flask import current_app

from app.mail.outbox import SmtpSettings


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
