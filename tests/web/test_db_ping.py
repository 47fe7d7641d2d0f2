"""Pooled connections are pinged after sitting idle, not on every request (app/db.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from app.db import make_engine, ping_after_idle


@pytest.fixture
def postgres(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        pytest.skip("a SQLite file is never dropped: nothing is pinged")
    return database_url


@pytest.fixture
def killer(postgres: str) -> Iterator[Engine]:
    engine = make_engine(postgres)
    yield engine
    engine.dispose()


def backend(engine: Engine) -> int:
    with engine.connect() as conn:
        pid: int = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        return pid


def drop(killer: Engine, pid: int) -> None:
    with killer.begin() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    postgres: str, killer: Engine
) -> None:
    engine = make_engine(postgres, pool_size=1)
    ping_after_idle(engine, idle=0.0)
    try:
        dropped = backend(engine)
        drop(killer, dropped)
        assert backend(engine) != dropped  # no error: the ping found it dead
    finally:
        engine.dispose()


def test_a_busy_connection_is_not_pinged_and_the_pool_recovers_after_one_failure(
    postgres: str, killer: Engine
) -> None:
    engine = make_engine(postgres, pool_size=1)
    ping_after_idle(engine, idle=3600.0)
    try:
        dropped = backend(engine)
        drop(killer, dropped)
        with pytest.raises(OperationalError):
            backend(engine)  # checked in a moment ago: not pinged, so its first use fails
        assert backend(engine) != dropped
    finally:
        engine.dispose()
