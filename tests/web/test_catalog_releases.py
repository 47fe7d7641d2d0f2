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
from parts_catalog.importer import import_release
from parts_catalog.models import PartVersion, Release
from tests.conftest import AuthActions
from tests.parts_catalog.releases import base_release, zip_release
from tests.parts_catalog.test_release_archives import bomb
from tests.parts_catalog.test_release_kinds import MANY, three_parts


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


# --- snapshots and deltas -------------------------------------------------------------------


@pytest.fixture
def hundred_parts(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1", parts=MANY), label="r1")
    session.commit()


@pytest.mark.usefixtures("hundred_parts")
def test_the_command_line_refuses_a_snapshot_that_delists_the_catalogue(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    folder = three_parts(tmp_path / "r2")
    refused = runner.invoke(args=["catalog", "import", str(folder), "--release", "r2"])
    assert refused.exit_code == 1
    assert "parts.csv: would delist 99 of the 100 parts listed now" in refused.output
    assert "confirm it with --allow-drops" in refused.output
    assert releases(session) == 1
    delta = runner.invoke(args=["catalog", "import", str(folder), "--release", "d", "--delta"])
    assert delta.exit_code == 0, delta.output
    assert "Imported release d (delta): 3 parts; parts +2 -0 ~1." in delta.output
    confirmed = runner.invoke(
        args=["catalog", "import", str(folder), "--release", "r3", "--allow-drops"]
    )
    assert confirmed.exit_code == 0, confirmed.output
    assert "Imported release r3 (snapshot): 3 parts; parts +0 -99 ~0." in confirmed.output


@pytest.mark.usefixtures("hundred_parts")
def test_the_upload_page_checks_first_and_names_the_delistings_to_confirm(
    client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    auth.login(Role.ENGINEER)
    page = client.get("/catalog/releases/upload").get_data(as_text=True)
    # The files and their columns, required ones marked; the kind to choose; check first.
    assert "<code>parts.csv</code>" in page
    assert '<code>part_number</code><span class="required" title="required">*</span>' in page
    assert "<code>category</code>," in page
    assert page.index("Check only") < page.index(">Import</button>")
    assert page.count('name="kind"') == 2
    assert 'value="delta"' in page
    archive = zip_release(three_parts(tmp_path / "r2"), tmp_path / "r2.zip")

    checked = upload(client, auth, "r2", archive, kind="snapshot", dry_run="y")
    html = checked.get_data(as_text=True)
    assert checked.status_code == 422
    assert "would delist 99 of the 100 parts listed now" in html
    assert 'name="allow_drops" value="99"> Delist 99 parts (of 100)' in html
    assert 'value="r2"' in html
    assert releases(session) == 1

    checked = upload(client, auth, "r2", archive, kind="snapshot", dry_run="y", allow_drops="99")
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert "Valid; would import release r2 (snapshot): 3 parts; parts +2 -99 ~1." in html
    assert "parts.csv: 2 added, 99 delisted, 1 changed" in html
    assert "Parts listed afterwards: 3" in html
    assert releases(session) == 1

    as_delta = upload(client, auth, "d", archive, kind="delta")
    assert as_delta.status_code == 302
    kinds = dict(session.execute(select(Release.label, Release.kind)).all())
    assert kinds == {"r1": "snapshot", "d": "delta"}
    listing = client.get("/catalog/releases").get_data(as_text=True)
    assert "<td>delta</td>" in listing
    assert "<td>102</td>" in listing
    diff = client.get("/catalog/releases/r1/diff/d").get_data(as_text=True)
    assert "d is a delta (it changed only the rows it named)" in diff
    assert "2 added · 0 removed · 1 changed" in diff


# --- export ---------------------------------------------------------------------------------


def test_export_writes_a_release_that_re_imports_to_no_change(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    runner.invoke(args=["demo", "load"])
    newest = session.scalars(select(Release.label).order_by(Release.id.desc())).first()
    out = tmp_path / "export"
    exported = runner.invoke(args=["catalog", "export", "--release", newest, str(out)])
    assert exported.exit_code == 0, exported.output
    assert exported.output.startswith(f"Exported release {newest} to {out}: ")
    again = runner.invoke(args=["catalog", "import", str(out), "--release", "again"])
    assert again.exit_code == 0, again.output
    assert "parts +0 -0 ~0." in again.output
    diff = runner.invoke(args=["catalog", "diff", newest, "again"])
    assert "0 added, 0 removed, 0 changed, 0 newly superseded" in diff.output
    unknown = runner.invoke(args=["catalog", "export", "--release", "nope", str(out)])
    assert unknown.exit_code == 1
    assert "There is no release 'nope'." in unknown.output
