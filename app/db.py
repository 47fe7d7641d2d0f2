"""The engine, and one SQLAlchemy session per request, closed in teardown.

Views commit once on success; anything uncommitted is rolled back when the session closes.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; on SQLite, make it behave like PostgreSQL where it matters.

    Foreign keys are enforced, and transactions are begun by SQLAlchemy rather than by the
    ``sqlite3`` driver, whose legacy mode on Python 3.11 breaks SAVEPOINT (SQLAlchemy's documented
    workaround, "Serializable isolation / Savepoints / Transactional DDL").
    """
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            # 64 MiB of page cache (the default is 2 MiB): imports touch large indexes.
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

    return engine


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"], pool_pre_ping=True)
    app.extensions["engine"] = engine
    app.extensions["session_factory"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def session_factory() -> sessionmaker[Session]:
    factory: sessionmaker[Session] = current_app.extensions["session_factory"]
    return factory


def get_session() -> Session:
    """The session of the current request (or CLI command's app context)."""
    if "db_session" not in g:
        g.db_session = session_factory()()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
