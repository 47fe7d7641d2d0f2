"""Writing many rows at once, past SQLAlchemy's per-row work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, Numeric, Table, insert


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
    # Only the columns whose values the driver cannot take as they are get converted: most
    # tables have none, and their rows go to the driver untouched.
    typed = [i for i, name in enumerate(names) if isinstance(table.c[name].type, (Numeric, Date))]

    def executemany(rows: list[tuple[Any, ...]]) -> None:
        if typed:
            rows = [_sqlite_row(row, typed) for row in rows]
        conn.exec_driver_sql(insert_sql, rows)

    return executemany


def _sqlite_row(row: tuple[Any, ...], typed: list[int]) -> tuple[Any, ...]:
    values = list(row)
    for i in typed:
        values[i] = _sqlite_value(values[i])
    return tuple(values)


def _sqlite_value(value: object) -> object:
    # What SQLAlchemy's Numeric and Date types store on SQLite, for the raw driver.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@contextmanager
def streaming_writer(
    conn: Connection, table: Table
) -> Iterator[Callable[[list[tuple[Any, ...]]], None]]:
    """:func:`writer` for many batches in a row, with nothing else run on ``conn`` meanwhile.

    On PostgreSQL one ``COPY`` stays open throughout: the server stores one batch while the
    caller makes the next, where a ``COPY`` per batch waits for the server each time.
    """
    if conn.dialect.name != "postgresql":
        yield writer(conn, table)
        return
    names = [c.name for c in table.columns if c.server_default is None]
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(statement) as stream:

        def copy(rows: list[tuple[Any, ...]]) -> None:
            for row in rows:
                stream.write_row(row)

        yield copy
