"""Releases through the command line and the upload page: archives that would unpack too much,
snapshots and deltas, confirmed delistings, and exports."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import EnvironBuilder, FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.roles import Role
from parts_catalog.models import PartVersion, Release
from tests.conftest import AuthActions
from tests.parts_catalog.test_release_archives import bomb


def releases(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Release)) or 0


def upload(client: FlaskClient, auth: AuthActions, label: str, *files: Path, **extra: str):
    # Built here so that it can be closed: the test client leaves the temporary file it spools
    # a large upload to open.
    builder = EnvironBuilder(
        client.application,
        "/catalog/releases/upload",
        method="POST",
        data={
            "label": label,
            "files": [(io.BytesIO(f.read_bytes()), f.name) for f in files],
            "csrf_token": auth.csrf(),
            **extra,
        },
        content_type="multipart/form-data",
    )
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bomb(tmp_path_factory.mktemp("bomb") / "bomb.zip")


def test_the_command_line_refuses_a_zip_bomb(
    runner: FlaskCliRunner, session: Session, zip_bomb: Path
) -> None:
    result = runner.invoke(args=["catalog", "import", str(zip_bomb), "--release", "boom"])
    assert result.exit_code == 1
    assert "bomb.zip: unpacks to 1,024.0 MB, more than the 512.0 MB" in result.output
    assert "Nothing was imported." in result.output
    assert releases(session) == 0


def test_the_upload_page_refuses_a_zip_bomb_and_keeps_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session, zip_bomb: Path
) -> None:
    auth.login(Role.ENGINEER)
    response = upload(client, auth, "boom", zip_bomb)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "nothing was imported" in html
    assert "bomb.zip: unpacks to 1,024.0 MB, more than the 512.0 MB" in html
    assert 'value="boom"' in html
    assert releases(session) == 0
    assert session.scalar(select(func.count()).select_from(PartVersion)) == 0
    uploads = Path(app.config["UPLOAD_DIR"]) / "releases"
    assert not any(uploads.iterdir())


def test_the_limits_are_settings(
    app: Flask, runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    app.config["RELEASE_MAX_RATIO"] = 10_000
    app.config["RELEASE_MAX_BYTES"] = 16 << 20
    small = bomb(tmp_path / "small.zip", size=32 << 20)
    result = runner.invoke(args=["catalog", "import", str(small), "--release", "boom"])
    assert "small.zip: unpacks to 32.0 MB, more than the 16.0 MB" in result.output
    assert "compressed more than" not in result.output
    assert releases(session) == 0
