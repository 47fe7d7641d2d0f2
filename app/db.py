"""The engine, and one SQLAlchemy session per request: committed in one place, closed in teardown.

The commit point (Indico's request handler does the same): when the view has answered with a
success (a status below 400, redirects included), the request's session is committed once, before
any other ``after_request`` hook sees the response; an error status, or an exception anywhere,
rolls everything back. Views and services never commit; a view that must keep something although
it answers with an error (a failed sign-in counted, a draft kept beside a refused form) says so
with ``keep_on_error()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Response


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
            # Straight to the driver: through ``exec_driver_sql`` it cost an eighth of a
            # request's session (its cursor, events and result), for a statement with no
            # parameters and no rows.
            connection.connection.driver_connection.execute("BEGIN")

    return engine


#: A pooled connection that sat unused this long is pinged before a request gets it.
IDLE_BEFORE_PING = 10.0


def ping_after_idle(engine: Engine, *, idle: float = IDLE_BEFORE_PING) -> None:
    """Ping a pooled connection before handing it out only when it sat unused for ``idle``
    seconds (a database restarted or a firewall dropped it meanwhile);
    a dead one is replaced, as ``pool_pre_ping`` does on every checkout.

    On PostgreSQL, ``pool_pre_ping`` cost each request a round trip (0.23 ms wall, 0.08 ms CPU
    with psycopg): a busy worker's connections are never idle that long. Should the database
    restart under load, the first statement on a connection it dropped fails as before, and
    SQLAlchemy then replaces every connection the pool held. SQLite files are never dropped.
    """
    if engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["benchside_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("benchside_idle_since", None)
        if since is None or time.monotonic() - since < idle:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver says of a dead connection
            raise DisconnectionError() from exc
        if not alive:
            raise DisconnectionError()


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    ping_after_idle(engine)
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


def after_commit(action: Callable[[], None]) -> None:
    """Run ``action`` once this request's work is committed (never if it is rolled back): what
    reads committed data from elsewhere, such as this node's search index following the change
    log, waits for the commit."""
    g.setdefault("db_after_commit", []).append(action)


def keep_on_error() -> None:
    """Commit this request's work even though it answers with an error status."""
    g.db_keep_on_error = True


def register_commit_point(app: Flask) -> None:
    """Commit after a successful view (see the module's docstring). Registered after every
    other ``after_request`` hook, so that it runs first: a failed commit is the request's
    failure (a 500 page, logged as such), never a success logged before the write was lost."""
    app.after_request(_commit_or_roll_back)


def _commit_or_roll_back(response: Response) -> Response:
    session: Session | None = g.get("db_session")
    if session is None:
        return response
    if response.status_code < 400 or g.pop("db_keep_on_error", False):
        session.commit()
        for action in g.pop("db_after_commit", []):
            action()
    else:
        session.rollback()
    return response


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
