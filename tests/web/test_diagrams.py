"""Exploded views through the portal: the model page's drawing, hotspots, parts list and
answers; drawings served safely; the part page's thumbnails; the API; "<model> ref <n>"."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from app.roles import Role
from parts_catalog import diagrams
from parts_catalog.importer import import_release
from parts_catalog.services import get_model, release_for
from tests.conftest import AuthActions
from tests.parts_catalog.test_diagrams import HOSTILE, png, release_with_views, spot, svg


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(session, path=release_with_views(tmp_path / "r1"), label="r1")
    session.commit()


def drawing_of(session: Session, model: str) -> diagrams.Diagram:
    release = release_for(session)
    info = get_model(session, model, release=release)
    [view] = diagrams.model_diagrams(session, info.number_norm, info.chassis, release=release)
    return view


@pytest.mark.usefixtures("catalogue")
def test_the_model_page_draws_the_view_with_its_hotspots_list_and_answers(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login()
    html = client.get("/catalog/models/KDL-55W800C").get_data(as_text=True)
    view = drawing_of(session, "KDL-55W800C")
    assert '<script src="/static/exploded.js" defer></script>' in html
    assert f'href="/catalog/drawings/{view.sha256}.svg"' in html
    # A box hotspot and an element hotspot (the element's outline, geometry only), both links.
    assert re.search(
        r'<a href="#answer-kdl-main-101" class="hotspot" data-ref="101" '
        r'aria-label="Ref. 101: POWER BOARD \(GL2\)">',
        html,
    )
    assert '<rect x="10.0" y="10.0" width="30.0" height="20.0"' in html
    assert 'data-ref="102"' in html
    assert re.search(r'<rect [^>]*x="50" [^>]*/>|<rect x="50"', html)
    # The list beside it, row by row, linked to the same answers.
    assert '<tr data-ref="101">' in html
    assert 'class="ref-link" data-ref="101"' in html
    # The answer: what to order (1-474-594-11 is superseded by -12), price, stock, the cart,
    # and "does not fit?".
    answer = html[html.index('id="answer-kdl-main-101"') :]
    answer = answer[: answer.index('<table class="table parts-list">')]
    assert "Order <a" in answer
    assert "1-474-594-12</a> × 1 · 89.00 EUR each · 3 in stock" in answer
    assert "to the cart</button>" in answer
    assert "Does not fit?" in answer
    assert "Report: 1-474-594-11 does not fit KDL-55W800C" in answer


@pytest.mark.usefixtures("catalogue")
def test_an_engineer_sees_no_cart_button(client: FlaskClient, auth: AuthActions) -> None:
    auth.login(Role.ENGINEER)
    html = client.get("/catalog/models/KDL-55W800C").get_data(as_text=True)
    assert 'id="answer-kdl-main-101"' in html
    assert "to the cart</button>" not in html


@pytest.mark.usefixtures("catalogue")
def test_a_model_without_drawings_keeps_its_plain_list(
    client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    auth.login()
    html = client.get("/catalog/models/KDL-55W800C?as_of=r1").get_data(as_text=True)
    assert "data-exploded" in html
    html = client.get("/catalog/models/DSC-RX100M3").get_data(as_text=True)
    assert ".png" in html  # the camera's view is a PNG


@pytest.mark.usefixtures("catalogue")
def test_drawings_are_served_with_their_type_a_strict_policy_and_a_long_cache(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    view = drawing_of(session, "KDL-55W800C")
    assert client.get(f"/catalog/drawings/{view.sha256}.svg").status_code in (302, 401)
    auth.login()
    response = client.get(f"/catalog/drawings/{view.sha256}.svg")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/svg+xml"
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; style-src 'unsafe-inline'")
    assert "script-src" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response.data.startswith(b"<?xml")
    camera = drawing_of(session, "DSC-RX100M3")
    response = client.get(f"/catalog/drawings/{camera.sha256}.png")
    assert response.headers["Content-Type"] == "image/png"
    assert response.data[:8] == b"\x89PNG\r\n\x1a\n"
    # Only by hash and with its own extension.
    assert client.get(f"/catalog/drawings/{camera.sha256}.svg").status_code == 404
    assert client.get(f"/catalog/drawings/{'0' * 64}.svg").status_code == 404
    assert client.get("/catalog/drawings/..%2Fx.svg").status_code == 404


def test_a_hostile_drawing_is_served_sanitised(
    client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    files = {"main.svg": HOSTILE, "cab.png": png(64, 48)}
    import_release(session, path=release_with_views(tmp_path / "r1", files=files), label="r1")
    session.commit()
    auth.login()
    view = drawing_of(session, "KDL-55W800C")
    body = client.get(f"/catalog/drawings/{view.sha256}.svg").data
    assert b"<script" not in body
    assert b"onload" not in body
    assert b"evil.example" not in body
    assert b'id="p101"' in body


@pytest.mark.usefixtures("catalogue")
def test_the_part_page_shows_where_on_the_drawing(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    html = client.get("/catalog/parts/A-2072-533-A").get_data(as_text=True)
    assert "Where on the drawing" in html
    where = html[html.index("Where on the drawing") :]
    assert 'class="hotspot marked" data-ref="102"' in where
    assert "/catalog/models/KDL-55W800C?as_of=r1#answer-kdl-main-102" in where
    # A part on no drawing has no such section.
    html = client.get("/catalog/parts/4-234-704-11").get_data(as_text=True)
    assert "Where on the drawing" not in html


@pytest.mark.usefixtures("catalogue")
def test_the_api_lists_a_models_diagrams_with_hotspots_parts_and_resolutions(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login()
    response = client.get("/api/v1/models/kdl-55w800c/diagrams")
    assert response.status_code == 200, response.get_data(as_text=True)
    [view] = response.get_json()
    sha = drawing_of(session, "KDL-55W800C").sha256
    assert view["id"] == "kdl-main"
    assert view["title"] == "Main chassis"
    assert view["url"] == f"/catalog/drawings/{sha}.svg"
    assert view["view_box"] == [0, 0, 200, 100]
    first, second = view["hotspots"]
    assert {k: first[k] for k in ("ref_no", "x", "y", "w", "h", "part_number")} == {
        "ref_no": "101",
        "x": 10.0,
        "y": 10.0,
        "w": 30.0,
        "h": 20.0,
        "part_number": "1-474-594-11",
    }
    assert first["resolution"]["outcome"] == "superseded"
    assert [r["part_number"] for r in first["resolution"]["result"]] == ["1-474-594-12"]
    assert (second["ref_no"], second["element_id"], second["x"]) == ("102", "p102", None)
    assert client.get("/api/v1/models/DSC-RX100M3/diagrams").get_json()[0]["url"].endswith(".png")
    missing = client.get("/api/v1/models/NOPE-1/diagrams")
    assert missing.status_code == 404
    assert missing.get_json()["status"] == 404


def test_a_diagram_changed_by_a_later_release_is_served_as_of_each(
    client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    import_release(session, path=release_with_views(tmp_path / "r1"), label="r1")
    moved = [spot("kdl-main", "101", "300", "150", "40", "30")]
    files = {"main.svg": svg(400, 200), "cab.png": png(64, 48)}
    import_release(
        session, path=release_with_views(tmp_path / "r2", None, moved, files), label="r2"
    )
    session.commit()
    auth.login()
    old = client.get("/api/v1/models/KDL-55W800C/diagrams?as_of=r1").get_json()[0]
    new = client.get("/api/v1/models/KDL-55W800C/diagrams").get_json()[0]
    assert old["url"] != new["url"]
    assert [h["x"] for h in old["hotspots"]] == [10.0, None]
    assert [h["x"] for h in new["hotspots"]] == [300.0]
    assert client.get(old["url"]).status_code == client.get(new["url"]).status_code == 200
    html = client.get("/catalog/models/KDL-55W800C?as_of=r1").get_data(as_text=True)
    assert old["url"] in html
    assert new["url"] not in html


def test_a_model_and_ref_number_find_the_part_first(
    runner: FlaskCliRunner, client: FlaskClient, auth: AuthActions, tmp_path: Path
) -> None:
    result = runner.invoke(
        args=["catalog", "import", str(release_with_views(tmp_path / "r1")), "--release", "r1"]
    )
    assert result.exit_code == 0, result.output
    auth.login()
    for query in ("kdl-55w800c ref 102", "KDL-55W800C ref. 102", "KDL55W800C #102"):
        body = client.get("/api/v1/search", query_string={"q": query}).get_json()
        first = body["results"][0]
        assert (first["kind"], first["key"], first["why"]) == ("part", "A-2072-533-A", "ref"), query
        assert body["model"] == "KDL-55W800C"
    html = client.get("/search", query_string={"q": "kdl-55w800c ref 101"}).get_data(as_text=True)
    assert html.index("1-474-594-11") < html.index("KDL-55W800C</")
    assert re.search(r"Fits KDL-55W800C at <mark>ref 101</mark> \(Main chassis\)", html)


def test_a_release_with_drawings_uploads_through_the_page(
    client: FlaskClient, auth: AuthActions, tmp_path: Path
) -> None:
    auth.login(Role.ENGINEER)
    folder = release_with_views(tmp_path / "r1")
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(folder.iterdir())]
    response = client.post(
        "/catalog/releases/upload",
        data={"label": "r1", "kind": "snapshot", "files": files, "csrf_token": auth.csrf()},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    html = client.get("/catalog/models/KDL-55W800C").get_data(as_text=True)
    assert "data-exploded" in html
