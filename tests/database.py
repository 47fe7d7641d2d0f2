"""Building and emptying the test database, outside any fixture so browser tests can reuse it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, MetaData, text

from app.db import make_engine
from app.migrate import alembic_config


def drop_everything(url: str) -> None:
    """Leave the database empty, whatever an earlier run left in it."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            metadata = MetaData()
            metadata.reflect(conn)
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def migrate(url: str, revision: str = "head") -> None:
    cfg = alembic_config(url)
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, revision)


def delete_all_rows(engine: Engine) -> None:
    """Empty every table but keep the schema (for tests whose server commits for real)."""
    metadata = MetaData()
    with engine.begin() as conn:
        metadata.reflect(conn)
        tables = [t for t in metadata.sorted_tables if t.name != "alembic_version"]
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())
