"""Writing many rows at once, past SQLAlchemy's per-row work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, insert


def writer(conn: Connection, table: Table) -> Callable[[list[tuple[Any, ...]]], None]:
    """Bulk insert of plain tuples in the table's column order (columns with a server default
    left out): ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""
    names = [c.name for c in table.columns if c.server_default is None]
    if conn.dialect.name == "postgresql":
        statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"

        def copy(rows: list[tuple[Any, ...]]) -> None:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(statement) as stream:
                for row in rows:
                    stream.write_row(row)

        return copy
    insert_sql = str(insert(table).compile(conn, column_keys=names))  # "... VALUES (?, ?, ...)"

    def executemany(rows: list[tuple[Any, ...]]) -> None:
        conn.exec_driver_sql(insert_sql, [tuple(_sqlite_value(v) for v in row) for row in rows])

    return executemany


def _sqlite_value(value: object) -> object:
    # What SQLAlchemy's Numeric and Date types store on SQLite, for the raw driver.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
