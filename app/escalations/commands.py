"""``flask --app wsgi escalations sweep``: flag breaches and escalate unanswered tickets."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from app.db import session_factory
from app.escalations import inbound, workflow
from app.escalations.models import InboundMail
from app.extensions import current_settings

escalations_cli = AppGroup("escalations", help="Escalation tickets.")


@escalations_cli.command("sweep")
def sweep_command() -> None:
    """Flag tickets past their first-response target and send them to the next tier (safe to
    run every minute from cron or a loop)."""
    with session_factory().begin() as session:
        counts = workflow.sweep(session, settings=current_settings().escalations)
    click.echo(
        f"{counts['reminded']} reminded, {counts['breached']} breached, "
        f"{counts['escalated']} escalated."
    )


mail_cli = AppGroup("mail", help="Mail into the portal.")

EX_TEMPFAIL = 75  # sysexits: the mail server keeps the message and tries again


@mail_cli.command("ingest")
def ingest_command() -> None:
    """Read one RFC 822 message from standard input (as a mail server hands mail to a program)
    and thread it into its ticket or open one. Exit 0 when the message is taken (even ignored),
    75 when it should be offered again later."""
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        click.echo("No message on standard input.", err=True)
        sys.exit(EX_TEMPFAIL)
    factory = session_factory()
    try:
        with factory.begin() as session:  # first the raw message, whatever happens next
            stored, fresh = inbound.store(session, raw)
            stored_id = stored.id
    except SQLAlchemyError as exc:
        click.echo(f"Could not store the message ({type(exc).__name__}); try again.", err=True)
        sys.exit(EX_TEMPFAIL)
    if not fresh:
        click.echo("duplicate")
        return
    try:
        with factory.begin() as session:
            outcome = inbound.process(
                session,
                session.get_one(InboundMail, stored_id),
                settings=current_settings().escalations,
            )
    except SQLAlchemyError as exc:
        # Stored and not processed: the mail server's next try processes it.
        click.echo(f"Could not process the message ({type(exc).__name__}); try again.", err=True)
        sys.exit(EX_TEMPFAIL)
    except Exception as exc:
        with factory.begin() as session:
            session.get_one(InboundMail, stored_id).outcome = "failed"
        click.echo(f"Stored, not processed ({type(exc).__name__}: {exc}).", err=True)
        return
    click.echo(f"{outcome.status}{' ' + outcome.reference if outcome.reference else ''}")
