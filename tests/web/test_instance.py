"""The instance folder and its secret key are made by ``create_app``, never by importing the
settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app import create_app
from config import ROOT, Config


def test_importing_the_settings_writes_nothing(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    subprocess.run(
        [sys.executable, "-c", "import config"],
        cwd=ROOT,
        env={"BENCHSIDE_INSTANCE": str(instance), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert not instance.exists()


def test_the_app_makes_one_key_and_keeps_it(tmp_path: Path) -> None:
    class Settings(Config):
        INSTANCE_DIR = tmp_path / "instance"
        SECRET_KEY = ""
        DATABASE_URL = f"sqlite:///{tmp_path / 'instance' / 'benchside.db'}"

    first = create_app(Settings)
    second = create_app(Settings)
    key_file = tmp_path / "instance" / "secret_key"
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text()
    assert key_file.stat().st_mode & 0o077 == 0  # the owner's only
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"]
    for app in (first, second):
        app.extensions["engine"].dispose()


def test_a_key_from_the_environment_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    class Settings(Config):
        INSTANCE_DIR = tmp_path / "instance"
        SECRET_KEY = "k" * 48  # what SECRET_KEY in the environment sets
        DATABASE_URL = "sqlite://"

    app = create_app(Settings)
    assert app.config["SECRET_KEY"] == "k" * 48
    assert not (tmp_path / "instance" / "secret_key").exists()
    app.extensions["engine"].dispose()
