"""The schema is made by migrations only, and they agree with the models."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from app.migrate import alembic_config


def config(url: str):
    cfg = alembic_config(url)
    cfg.attributes["configure_logger"] = False
    return cfg


def test_single_head(database_url: str) -> None:
    assert len(ScriptDirectory.from_config(config(database_url)).get_heads()) == 1


def test_down_to_base_and_up_again_and_models_agree(engine: Engine, database_url: str) -> None:
    cfg = config(database_url)
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert "users" in inspect(engine).get_table_names()
    command.check(cfg)  # raises if the models hold anything the migrations do not
