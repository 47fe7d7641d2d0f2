"""escalation statuses, tiers, priorities and event kinds checked; idempotency fingerprints

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 16:10:00.000000

Tickets' ``status``, ``tier`` and ``priority`` and timeline events' ``kind`` take only the values
the portal knows (CHECK constraints named by the convention, ``ck_<table>_<name>``). Rows that
hold anything else are not guessed at: the upgrade stops and names them, so that someone decides.

Tickets keep a fingerprint of what their idempotency key was sent with (``app.idempotency``);
tickets opened before have none, and a repeat of their key is answered with them as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column, constraint name, allowed values)
CHECKED = (
    (
        "escalation_tickets",
        "status",
        "ticket_status",
        ("new", "open", "waiting_on_technician", "resolved"),
    ),
    ("escalation_tickets", "tier", "ticket_tier", ("tier1", "tier2", "engineering")),
    ("escalation_tickets", "priority", "ticket_priority", ("normal", "urgent")),
    (
        "escalation_events",
        "kind",
        "event_kind",
        ("message", "reply", "note", "event", "consult", "advice"),
    ),
)


def _refuse_unknown_values() -> None:
    connection = op.get_bind()
    problems = []
    for table, column, _name, allowed in CHECKED:
        t = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.String))
        rows = connection.execute(
            sa.select(t.c.id, t.c[column])
            .where(sa.or_(t.c[column].not_in(allowed), t.c[column].is_(None)))
            .order_by(t.c.id)
        ).all()
        if rows:
            found = ", ".join(f"{row[0]} ({row[1]!r})" for row in rows[:20])
            more = f" and {len(rows) - 20} more" if len(rows) > 20 else ""
            problems.append(
                f"{table}.{column} must be one of {', '.join(allowed)}; rows by id: {found}{more}"
            )
    if problems:
        raise RuntimeError(
            "Cannot check escalation statuses, tiers, priorities and event kinds: some rows hold "
            "values the portal does not know. Correct them (UPDATE ... SET ...) and upgrade "
            "again.\n" + "\n".join(problems)
        )


def upgrade() -> None:
    _refuse_unknown_values()
    with op.batch_alter_table("escalation_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
    # The columns stay VARCHAR (a non-native Enum is one): only the constraints are new.
    for table, column, name, allowed in CHECKED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_{name}"), sa.column(column).in_(allowed)
            )


def downgrade() -> None:
    for table, _column, name, _allowed in reversed(CHECKED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
    with op.batch_alter_table("escalation_tickets", schema=None) as batch_op:
        batch_op.drop_column("fingerprint")
