"""Alembic environment: every package's metadata, the URL from config.py, batch mode for SQLite."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

import app.auth.models
import app.escalations.models
import app.mail.models
import app.notices.models
import app.orders.models
import app.repairs.models
import app.search.models
import app.warranty.models
import diagnostics.models
import parts_catalog.models
from app.db import make_engine
from config import Config

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# pg_advisory_xact_lock's key for migrations: any constant no other lock of ours uses.
MIGRATION_LOCK = 0x42454E4348  # "BENCH"

target_metadata = [
    parts_catalog.models.Base.metadata,
    diagnostics.models.Base.metadata,
    app.auth.models.Base.metadata,
]


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.attributes.get("database_url", Config.DATABASE_URL),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.attributes.get("database_url", Config.DATABASE_URL))
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # A batch migration rebuilds a table (copy, drop, rename); with foreign keys on,
                # dropping one that rows refer to (users, orders) fails. SQLite takes this only
                # outside a transaction; the keys are checked before the migration commits.
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            _configure(conn)
            with context.begin_transaction():
                if conn.dialect.name == "postgresql":
                    # Nodes deployed together may all run `db upgrade` at once: the first
                    # migrates, the others wait here and then find nothing left to do.
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                context.run_migrations()
                if sqlite and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise RuntimeError(f"Rows refer to rows that do not exist: {broken[:10]}")
    finally:
        engine.dispose()  # a migration that raised must not leave its connection open


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
