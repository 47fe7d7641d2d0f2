"""order and return statuses, kinds and reasons checked by the database

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 15:40:00.000000

Orders' ``status`` and ``kind``, returns' ``status`` and ``reason`` take only the values the
portal knows (CHECK constraints named by the convention, ``ck_<table>_<name>``). Rows that hold
anything else are not guessed at: the upgrade stops and names them, so that someone decides.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column, constraint name, allowed values)
CHECKED = (
    (
        "orders",
        "status",
        "order_status",
        ("placed", "picking", "shipped", "delivered", "cancelled"),
    ),
    ("orders", "kind", "order_kind", ("paid", "warranty")),
    ("order_returns", "status", "return_status", ("requested", "accepted", "refused", "credited")),
    (
        "order_returns",
        "reason",
        "return_reason",
        ("wrong_part", "catalogue_error", "damaged", "not_needed"),
    ),
)


def _refuse_unknown_values() -> None:
    connection = op.get_bind()
    problems = []
    for table, column, _name, allowed in CHECKED:
        t = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.String))
        rows = connection.execute(
            sa.select(t.c.id, t.c[column]).where(t.c[column].not_in(allowed)).order_by(t.c.id)
        ).all()
        if rows:
            found = ", ".join(f"{row[0]} ({row[1]!r})" for row in rows[:20])
            more = f" and {len(rows) - 20} more" if len(rows) > 20 else ""
            problems.append(
                f"{table}.{column} must be one of {', '.join(allowed)}; rows by id: {found}{more}"
            )
    if problems:
        raise RuntimeError(
            "Cannot check order and return statuses: some rows hold values the portal does not "
            "know. Correct them (UPDATE ... SET ...) and upgrade again.\n" + "\n".join(problems)
        )


def upgrade() -> None:
    _refuse_unknown_values()
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
