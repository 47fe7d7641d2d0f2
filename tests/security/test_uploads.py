"""Uploads: disguised and oversized files are refused, and what is kept is served inert.

``tests/escalations/test_escalations.py`` already covers a program renamed ``.jpg`` and a file
over ``ATTACHMENT_MAX_BYTES`` sent on its own; here the other doors (the release and tree uploads,
the form's own file field), disguises that are text, and how kept files are served back.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.escalations.models import Attachment
from diagnostics.models import TreeRevision
from parts_catalog.models import Release
from tests.conftest import csrf_token
from tests.escalations import change_escalation_settings
from tests.security.conftest import JPEG, World, database_state, sign_in

PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(range(256)) * 4
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><rect/></svg>'


def send(client: FlaskClient, url: str, page: str, **fields: object) -> tuple[int, str]:
    data = {**fields, "csrf_token": csrf_token(client, page)}
    with client.post(url, data=data, content_type="multipart/form-data") as response:
        return response.status_code, response.get_data(as_text=True)


def file(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- catalogue releases ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (PROGRAM, "release.zip"),  # a program renamed .zip
        (PROGRAM, "parts.csv"),  # a program renamed .csv
        (HTML, "parts.csv"),  # a page named .csv
        (PROGRAM, "setup.exe"),
        (HTML, "release.html"),
    ],
    ids=["exe-as-zip", "exe-as-csv", "html-as-csv", "exe", "html"],
)
def test_a_disguised_release_is_refused(
    app: Flask, session: Session, world: World, data: bytes, name: str
) -> None:
    engineer = sign_in(app, world.engineer)
    releases = count(session, Release)
    status, html = send(
        engineer,
        "/catalog/releases/upload",
        "/catalog/releases/upload",
        label="r-disguised",
        files=file(data, name),
    )
    assert status == 422, html[:500]
    assert count(session, Release) == releases


def test_a_release_archive_cannot_write_outside_its_folder(
    app: Flask, session: Session, world: World, tmp_path: Path
) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../../escaped.csv", "part_number,description\n9-9,X\n")
        bundle.writestr("/abs/escaped.csv", "x")
    engineer = sign_in(app, world.engineer)
    status, _html = send(
        engineer,
        "/catalog/releases/upload",
        "/catalog/releases/upload",
        label="r-slip",
        files=[file(archive.getvalue(), "release.zip")],
    )
    assert status == 422
    status, _html = send(
        engineer,
        "/catalog/releases/upload",
        "/catalog/releases/upload",
        label="r-slip",
        files=[file(b"part_number,description\n", "../../../escaped.csv")],
    )
    assert status == 422
    everything = {p.name for p in Path(app.config["UPLOAD_DIR"]).parents[0].rglob("*")}
    assert "escaped.csv" not in everything
    assert not list((Path(app.config["UPLOAD_DIR"]) / "releases").glob("*/*"))  # cleaned up


# --- trees ----------------------------------------------------------------------------------

BILLION_LAUGHS = "\n".join(
    ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    + [
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
).encode()


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (PROGRAM, "tree.yaml"),
        (HTML, "tree.yaml"),
        (SVG, "tree.json"),
        (BILLION_LAUGHS, "tree.yaml"),
        (b"!!python/object/apply:os.system ['touch /tmp/owned']", "tree.yaml"),
        (PROGRAM, "tree.exe"),
    ],
    ids=["exe-as-yaml", "html-as-yaml", "svg-as-json", "billion-laughs", "python-tag", "exe"],
)
def test_a_disguised_tree_is_refused(
    app: Flask, session: Session, world: World, data: bytes, name: str
) -> None:
    engineer = sign_in(app, world.engineer)
    before = database_state(session)
    status, html = send(
        engineer,
        "/authoring/trees/tv-red-led-blinks/upload",
        "/authoring/trees/tv-red-led-blinks",
        version="2.1",
        file=file(data, name),
    )
    assert status in (302, 422), html[:500]
    assert database_state(session) == before
    assert count(session, TreeRevision) == 2


# --- escalation attachments -----------------------------------------------------------------


@pytest.fixture
def upload(app: Flask, world: World) -> Callable[[bytes, str], tuple[int, dict[str, str]]]:
    client = sign_in(app, world.tech_b)  # no files waiting yet
    token = csrf_token(client, "/escalations/new")

    def send_one(data: bytes, name: str) -> tuple[int, dict[str, str]]:
        with client.post(
            "/escalations/attachments",
            data={"file": file(data, name)},
            headers={"X-CSRFToken": token},
            content_type="multipart/form-data",
        ) as response:
            return response.status_code, response.get_json()

    return send_one


@pytest.mark.parametrize(
    ("data", "name"),
    [(HTML, "photo.png"), (SVG, "photo.png"), (HTML, "board.jpg"), (HTML, "manual.pdf")],
    ids=["html-as-png", "svg-as-png", "html-as-jpg", "html-as-pdf"],
)
def test_a_page_named_as_a_photo_is_refused(
    upload: Callable[[bytes, str], tuple[int, dict[str, str]]], data: bytes, name: str
) -> None:
    """HOLE (app/escalations/attachments.py ``kind_of``): any UTF-8 content is taken as a text
    log whatever its name, so an HTML page or an SVG image with a script, named photo.png, is
    kept and listed on the ticket as a photo. (It is served back as a text/plain download with
    nosniff, so a browser does not run it; but a file whose name and content disagree should be
    refused, as the program renamed .jpg is.)"""
    status, body = upload(data, name)
    assert status == 422, body


def test_a_file_over_the_limit_is_refused_by_the_form_too(
    app: Flask, session: Session, world: World
) -> None:
    change_escalation_settings(app, attachment_max_bytes=1024)
    client = sign_in(app, world.tech_b)
    status, html = send(
        client,
        "/escalations/new",
        "/escalations/new",
        subject="Big photo",
        files=file(JPEG + b"\x00" * 1024, "big.jpg"),
    )
    assert status == 422
    assert "“big.jpg” is larger than 1 KB." in html
    assert count(session, Attachment) == 2  # the world's two


def test_a_request_over_max_content_length_is_refused_before_it_is_read(
    app: Flask, session: Session, world: World
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 4096
    client = sign_in(app, world.tech_b)
    token = csrf_token(client, "/escalations/new")
    for url, field in (
        ("/escalations/attachments", "file"),
        ("/escalations/new", "files"),
        ("/catalog/releases/upload", "files"),
    ):
        response = client.post(
            url,
            data={field: file(JPEG + b"\x00" * 8192, "big.jpg"), "csrf_token": token},
            headers={"X-CSRFToken": token},
            content_type="multipart/form-data",
        )
        assert response.status_code == 413, url
    assert count(session, Attachment) == 2


def test_kept_files_are_served_as_downloads_that_never_run(
    app: Flask, world: World, upload: Callable[[bytes, str], tuple[int, dict[str, str]]]
) -> None:
    polyglot = JPEG[:4] + HTML  # a JPEG's first bytes, then a page
    for data, name in (
        (polyglot, "x.jpg"),
        (b"12.1 V at CN6101\n", '<img src=x onerror="alert(1)">.log'),
        (JPEG, "../../../etc/passwd.jpg"),
    ):
        status, _body = upload(data, name)
        assert status == 201
    client = sign_in(app, world.tech_b)
    token = csrf_token(client, "/escalations/new")
    sent = client.post(
        "/escalations/new",
        data={
            "csrf_token": token,
            "key": "files",
            "subject": "Files",
            "description": "See the files",
            "category": "technical",
            "model_number": "KDL-55W800C",
            "priority": "normal",
        },
    )
    assert sent.status_code == 201
    reference = re.search(r"ESC-\d{4}-\d{6}", sent.text).group(0)  # type: ignore[union-attr]
    ticket = client.get(f"/escalations/{reference}").text
    assert "&lt;img src=x onerror=" in ticket
    links = re.findall(r'href="(/escalations/[^"]+/files/\d+)"', ticket)
    assert len(links) == 3
    types = set()
    for link in links:
        with client.get(link) as download:
            assert download.status_code == 200
            assert download.headers["X-Content-Type-Options"] == "nosniff"
            assert download.headers["Content-Disposition"].startswith("attachment;")
            assert download.headers["Content-Security-Policy"].startswith("default-src 'self'")
            assert "html" not in download.mimetype
            assert "svg" not in download.mimetype
            assert "/" not in download.headers["Content-Disposition"].partition("filename")[2]
            types.add(download.mimetype)
    assert types == {"image/jpeg", "text/plain"}
    # Wherever files are kept, never under a name the sender chose.
    written = {p.name for p in Path(app.config["UPLOAD_DIR"]).parent.rglob("*")}
    assert not written & {"passwd.jpg", "x.jpg", '<img src=x onerror="alert(1)">.log'}
