"""``flask --app wsgi repairs charge-overdue``: the core charge on defective units not returned
in time (safe to run daily from cron: a return is charged once)."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from app.db import session_factory
from app.models import utcnow
from app.repairs import exchange

repairs_cli = AppGroup("repairs", help="Repairs and the exchange programme.")


@repairs_cli.command("charge-overdue")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day to judge by (YYYY-MM-DD); today by default.",
)
def charge_overdue_command(today: datetime | None) -> None:
    """Mark the core charge on every exchanged unit whose return is past its due date and has
    not arrived; each return once."""
    on = today.date() if today is not None else utcnow().date()
    with session_factory().begin() as session:
        charged = exchange.charge_overdue(session, today=on)
        for unit_return in charged:
            click.echo(
                f"{unit_return.rma}: {unit_return.model_number} {unit_return.serial}, due "
                f"{unit_return.due_on.isoformat()}, core charge {unit_return.core_charge}"
            )
        count = len(charged)
    click.echo(
        f"{count} overdue return{'' if count == 1 else 's'} charged (as of {on.isoformat()})."
    )
