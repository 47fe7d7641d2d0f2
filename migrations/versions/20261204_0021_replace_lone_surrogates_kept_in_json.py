"""replace lone surrogates kept in JSON columns

Before the input guard refused them, JSON bodies could spell half of a UTF-16 pair ("\\ud800").
No text column takes one, but a JSON column keeps the escape as written, and every page that
later showed the value failed (a published tree's walk, a person's escalation form). Each is
replaced by U+FFFD, the character that says "something unreadable stood here".

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 15:10:00.000000
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SURROGATE = re.compile(r"[\ud800-\udfff]")


def _repaired(value: Any) -> Any:
    if isinstance(value, str):
        return SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_repaired(item) for item in value]
    if isinstance(value, dict):
        return {_repaired(key): _repaired(item) for key, item in value.items()}
    return value


def _json_columns(bind: sa.Connection) -> list[tuple[sa.Table, str]]:
    inspector = sa.inspect(bind)
    found = []
    for table_name in inspector.get_table_names():
        columns = inspector.get_columns(table_name)
        names = [c["name"] for c in columns if isinstance(c["type"], sa.JSON)]
        if not names:
            continue
        keys = inspector.get_pk_constraint(table_name)["constrained_columns"]
        table = sa.table(
            table_name,
            *(sa.column(key) for key in keys),
            *(sa.column(name, sa.JSON()) for name in names),
        )
        found += [(table, name) for name in names]
    return found


def upgrade() -> None:
    bind = op.get_bind()
    for table, name in _json_columns(bind):
        keys = [c for c in table.c if c.name != name and not isinstance(c.type, sa.JSON)]
        column = table.c[name]
        # JSON text spells every non-ASCII character as \\uXXXX; only rows with a surrogate
        # escape (a whole pair included) can need repair, and Python decides which do.
        suspects = sa.cast(column, sa.Text).ilike("%\\ud%", escape="!")
        for row in bind.execute(sa.select(*keys, column).where(suspects)).all():
            value = row._mapping[name]
            fixed = _repaired(value)
            if fixed != value:
                where = sa.and_(*(key == row._mapping[key.name] for key in keys))
                bind.execute(sa.update(table).where(where).values({name: fixed}))


def downgrade() -> None:
    # The halves replaced were never text; there is nothing to put back.
    pass
