"""Alembic, driven from the application's settings."""

from __future__ import annotations

from alembic.config import Config as AlembicConfig

from config import ROOT


def alembic_config(database_url: str) -> AlembicConfig:
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # Passed as an attribute, not an ini option: URLs may hold '%', which ini files interpolate.
    cfg.attributes["database_url"] = database_url
    return cfg
