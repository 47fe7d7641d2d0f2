"""``flask --app wsgi escalations sweep``: flag breaches and escalate unanswered tickets."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.db import session_factory
from app.escalations import services

escalations_cli = AppGroup("escalations", help="Escalation tickets.")


@escalations_cli.command("sweep")
def sweep_command() -> None:
    """Flag tickets past their first-response target and send them to the next tier (safe to
    run every minute from cron or a loop)."""
    with session_factory().begin() as session:
        counts = services.sweep(session)
    click.echo(f"{counts['breached']} breached, {counts['escalated']} escalated.")
