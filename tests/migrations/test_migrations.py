"""The schema is made by migrations only, and they agree with the models."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, Table, inspect, select, text

from app.migrate import alembic_config
from config import ROOT


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


def test_lone_surrogates_kept_in_json_are_replaced(engine: Engine, database_url: str) -> None:
    """Migration 0021 repairs what the input guard let through before: a JSON column that kept
    "\\ud800" broke every page showing it."""
    cfg = config(database_url)
    command.downgrade(cfg, "0020")
    probe = Table(
        "surrogate_probe", MetaData(), Column("id", Integer, primary_key=True), Column("doc", JSON)
    )
    parked = Table("parked_forms", MetaData(), autoload_with=engine)
    broken = {"answer\ud800": ["12\udc00 V", {"note": "fine \U0001f600"}], "n": 3}
    healthy = {"text": "a whole pair \U0001f600 and é"}
    try:
        with engine.begin() as conn:
            probe.create(conn)
            conn.execute(probe.insert(), [{"id": 1, "doc": broken}, {"id": 2, "doc": healthy}])
            conn.execute(
                parked.insert(),
                {
                    "token": "t" * 64,
                    "path": "/x",
                    "data": {"description": "typed \ud800"},
                    "created_at": datetime.now(UTC),
                },
            )
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            docs = dict(conn.execute(select(probe.c.id, probe.c.doc)).all())
            data = conn.execute(select(parked.c.data)).scalar_one()
        assert docs[1] == {"answer\ufffd": ["12\ufffd V", {"note": "fine \U0001f600"}], "n": 3}
        assert docs[2] == healthy
        assert data == {"description": "typed \ufffd"}
    finally:
        command.upgrade(cfg, "head")
        with engine.begin() as conn:
            probe.drop(conn, checkfirst=True)
            conn.execute(parked.delete())


def test_nodes_upgrading_at_once_take_turns(engine: Engine, database_url: str) -> None:
    """Every node of a deployment may run `db upgrade` at the same moment; on PostgreSQL they
    wait for each other (SQLite serves one process only)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one process: there are no nodes to race")
    cfg = config(database_url)
    command.downgrade(cfg, "base")
    # Processes, as nodes are: Alembic's context is one per process.
    script = "import sys; from tests.database import migrate; migrate(sys.argv[1])"
    nodes = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [node.communicate(timeout=300)[0].decode() for node in nodes]
    failed = [out for node, out in zip(nodes, outputs, strict=True) if node.returncode != 0]
    print(f"3 nodes upgrading at once: {3 - len(failed)} succeeded")
    assert failed == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    command.check(cfg)
