"""``flask --app wsgi notices remind``: remind by mail those who have not acknowledged a
notice after NOTICE_REMIND_AFTER_DAYS (safe to run hourly from cron: in business hours only,
each person once per period)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import session_factory
from app.extensions import current_settings
from app.models import utcnow
from app.notices import services

notices_cli = AppGroup("notices", help="Service notices and bulletins.")


@notices_cli.command("remind")
def remind_command() -> None:
    """Queue a reminder for each person who has not acknowledged a notice sent to them at
    least NOTICE_REMIND_AFTER_DAYS ago (nothing outside business hours)."""
    days = int(current_app.config["NOTICE_REMIND_AFTER_DAYS"])
    settings = current_settings()
    now = utcnow()
    if not settings.escalations.calendar.is_open(now):
        click.echo("Outside business hours: nobody reminded; run again in business hours.")
        return
    with session_factory().begin() as session:
        count = services.remind(
            session,
            now=now,
            after=timedelta(days=days),
            calendar=settings.escalations.calendar,
            mailer=settings.mail,
        )
    click.echo(
        f"{count} reminder{'' if count == 1 else 's'} queued (not acknowledged after {days} "
        f"day{'' if days == 1 else 's'})."
    )
