"""``flask --app wsgi <group> <command>``: thin commands over the same functions the pages use.

Each command owns its transaction.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import click
from alembic import command as alembic
from alembic.runtime.migration import MigrationContext
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from app import demo
from app.auth import services
from app.auth.errors import AccountError
from app.auth.models import ServiceCentre
from app.db import session_factory
from app.extensions import current_settings
from app.mail import outbox
from app.mail.compose import smtp_settings
from app.migrate import alembic_config
from app.roles import Role
from app.search.commands import update_index
from diagnostics import demo as demo_trees
from parts_catalog import demo as demo_catalogue
from parts_catalog import synonyms

db_cli = AppGroup("db", help="Create and change the database schema (Alembic).")
users_cli = AppGroup("users", help="Manage accounts.")
demo_cli = AppGroup("demo", help="Demo data.")
outbox_cli = AppGroup("outbox", help="Send queued mail.")


def register(app: Flask) -> None:
    from app.catalog.commands import catalog_cli
    from app.diagnose.commands import diagnostics_cli
    from app.escalations.commands import escalations_cli, mail_cli
    from app.notices.commands import notices_cli
    from app.repairs.commands import repairs_cli
    from app.search.commands import search_cli

    groups = (
        db_cli,
        users_cli,
        demo_cli,
        outbox_cli,
        catalog_cli,
        search_cli,
        diagnostics_cli,
        escalations_cli,
        mail_cli,
        repairs_cli,
        notices_cli,
    )
    for group in groups:
        app.cli.add_command(group)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: the newest)."""
    alembic.upgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)
    click.echo(f"Database at {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION ('base' removes every table)."""
    alembic.downgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)
    click.echo(f"Database at {revision}.")


@db_cli.command("current")
def db_current() -> None:
    """Show the schema's revision."""
    with current_app.extensions["engine"].connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
    click.echo(revision or "No migrations applied yet: run `flask --app wsgi db upgrade`.")


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="What the account may do.",
)
@click.option("--centre", "centre_name", help="Service centre (created if it does not exist).")
@click.option("--name", default="", help="Display name (default: the email address).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(
    email: str, role: str, centre_name: str | None, name: str, password_stdin: bool
) -> None:
    """Create an account with EMAIL."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with session_factory().begin() as session:
            centre = None
            if centre_name:
                centre = services.find_centre(session, centre_name)
                if centre is None:
                    centre = ServiceCentre(name=centre_name.strip())
                    session.add(centre)
            user = services.create_user(
                session,
                email=email,
                name=name,
                role=Role(role),
                centre=centre,
                password=password,
                min_password_length=current_settings().accounts.min_password_length,
            )
            summary = f"Created {user.email} ({user.role.label})"
            if centre is not None:
                summary += f" at {centre.name}"
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary + ".")


@users_cli.command("token")
@click.argument("email")
def users_token(email: str) -> None:
    """Print a new API token for EMAIL (shown once; only its hash is kept)."""
    with session_factory().begin() as session:
        user = services.find_user(session, email)
        if user is None:
            raise click.ClickException(f"No account for {email}.")
        token = services.issue_api_token(session, user)
    click.echo(token)


@demo_cli.command("load")
def demo_load() -> None:
    """Load demo data (safe to run again: what exists is kept)."""
    try:
        with session_factory().begin() as session:
            people = demo.load_people(session)
        with session_factory().begin() as session, tempfile.TemporaryDirectory() as workdir:
            releases = demo_catalogue.load(session, Path(workdir))
            synonyms.load_starter(session)
        with session_factory().begin() as session:
            trees = demo_trees.load(session)
        with session_factory().begin() as session:  # needs the people, catalogue and trees
            repairs_added = demo.load_repairs(session, settings=current_settings().repairs)
        with session_factory().begin() as session:  # needs the people and the catalogue
            notices_added = demo.load_notices(session, mailer=current_settings().mail)
    except (OperationalError, ProgrammingError) as exc:
        raise click.ClickException(
            f"The database is not ready ({exc.orig}). Run `flask --app wsgi db upgrade` first."
        ) from None
    for report in releases:
        click.echo(report.summary_line())
    if not releases:
        click.echo("Demo catalogue: both releases are there already.")
    update_index()
    if trees:
        click.echo(f"Demo diagnostic trees: {', '.join(trees)}.")
    if repairs_added:
        click.echo(f"Demo repairs: {', '.join(repairs_added)}.")
    if notices_added:
        click.echo(f"Demo notices: {', '.join(notices_added)}.")
    click.echo(f"Demo service centre: {demo.DEMO_CENTRE}")
    click.echo("Demo accounts (email / password / role):")
    for person in people:
        note = "" if person.created else "  (existed already)"
        click.echo(f"  {person.email:32} {person.password:24} {person.role.label}{note}")


@outbox_cli.command("failed")
@click.option("--retry", "retry_ids", type=int, multiple=True, help="Queue this message again.")
def outbox_failed(retry_ids: tuple[int, ...]) -> None:
    """List the mail the outbox gave up on (refused for good by the server), or queue some again."""
    with session_factory().begin() as session:
        for message_id in retry_ids:
            done = outbox.try_again(session, message_id)
            click.echo(f"{message_id}: {'queued again' if done else 'not a given-up message'}")
        if retry_ids:
            return
        messages = outbox.given_up(session)
        for m in messages:
            click.echo(f"{m.id:>6}  {m.gave_up_at:%Y-%m-%d %H:%M}  {m.to_address}  {m.subject}")
            click.echo(f"        {m.last_error}")
        click.echo(f"{len(messages)} given up.")


@outbox_cli.command("run")
@click.option("--once", is_flag=True, help="Send what is due, then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds.")
@click.option(
    "--retry-now", is_flag=True, help="Try waiting messages at once instead of after the backoff."
)
def outbox_run(once: bool, interval: float, retry_now: bool) -> None:
    """Send queued mail over SMTP, retrying with backoff."""
    settings = smtp_settings()
    if retry_now:
        outbox.retry_now(session_factory())
    while True:
        try:
            report = outbox.deliver_due(session_factory(), settings)
        except SQLAlchemyError as exc:
            # The database restarting or failing over: nothing is lost, try again.
            click.echo(f"Outbox: {type(exc).__name__}: {exc}; retrying.", err=True)
            if once:
                raise SystemExit(1) from exc
            time.sleep(max(interval, 10.0))
            continue
        if once or report.sent or report.failed:
            retry = " (will retry)" if report.failed > report.gave_up else ""
            gave_up = (
                f"; gave up on {report.gave_up} the server refused for good "
                "(`outbox failed` lists them)"
                if report.gave_up
                else ""
            )
            click.echo(f"Sent {report.sent}, failed {report.failed}{retry}{gave_up}.")
        if once:
            return
        time.sleep(interval)
