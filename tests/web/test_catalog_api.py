"""The catalogue's JSON API and commands, as the contract names them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from parts_catalog.importer import import_release
from tests.conftest import AuthActions
from tests.parts_catalog.releases import BASE_PARTS, base_release, part


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1", supersessions=[]), label="2026.1")
    parts = [*BASE_PARTS, part("1-480-001-11", "WIRELESS LAN MODULE")]
    import_release(session, path=base_release(tmp_path / "r2", parts=parts), label="2026.2")
    session.commit()


@pytest.fixture
def signed_in(auth: AuthActions) -> None:
    auth.login()


@pytest.mark.usefixtures("catalogue", "signed_in")
class TestApi:
    def test_resolution(self, client: FlaskClient) -> None:
        body = client.get("/api/v1/parts/1474594-11/resolution").get_json()
        assert body["requested"] == "1474594-11"
        assert body["known"] is True
        assert body["outcome"] == "superseded"
        assert body["release"] == "2026.2"
        assert body["chain"] == [
            {
                "old": "1-474-594-11",
                "new": "1-474-594-12",
                "quantity": 1,
                "interchangeability": "one_way",
                "effective_on": "2024-03-01",
                "note": None,
                "serial_from": None,
                "serial_to": None,
            }
        ]
        assert body["result"] == [
            {
                "part_number": "1-474-594-12",
                "quantity": 1,
                "status": "active",
                "condition": None,
                "safety_critical": True,
            }
        ]

    def test_resolution_as_of_an_earlier_release(self, client: FlaskClient) -> None:
        body = client.get("/api/v1/parts/1-474-594-11/resolution?as_of=2026.1").get_json()
        assert body["outcome"] == "current"

    def test_unknown_number_is_200_with_known_false(self, client: FlaskClient) -> None:
        response = client.get("/api/v1/parts/9-999-999-99/resolution")
        assert response.status_code == 200
        assert response.get_json()["known"] is False
        assert response.get_json()["outcome"] == "unknown"

    def test_part(self, client: FlaskClient) -> None:
        body = client.get("/api/v1/parts/1-474-594-11").get_json()
        assert body["part_number"] == "1-474-594-11"
        assert body["unit_price"] == "84.50"
        assert body["safety_critical"] is True
        assert body["stock"] == 7
        assert [f["model_number"] for f in body["fitments"]] == ["KDL-55W800C"]
        assert body["fitments"][0]["ref_no"] == "101"
        assert [e["new"] for e in body["replaced_by"]] == ["1-474-594-12"]
        replaced = client.get("/api/v1/parts/1-474-594-12").get_json()
        assert [e["old"] for e in replaced["replaces"]] == ["1-474-594-11"]

    def test_unknown_part_and_release_are_404_with_a_message(self, client: FlaskClient) -> None:
        missing = client.get("/api/v1/parts/9-999")
        assert missing.status_code == 404
        assert missing.get_json()["message"] == "Part 9-999 is not in the catalogue."
        release = client.get("/api/v1/parts/1-474-594-11?as_of=1999")
        assert release.status_code == 404
        assert release.get_json()["message"] == "There is no release '1999'."

    def test_where_used_and_model_parts(self, client: FlaskClient) -> None:
        used = client.get("/api/v1/parts/A2072533A/where-used").get_json()
        assert [(f["model_number"], f["ref_no"]) for f in used["fitments"]] == [
            ("KDL-55W800C", "102")
        ]
        model = client.get("/api/v1/models/kdl55w800c/parts").get_json()
        assert model["model"]["model_number"] == "KDL-55W800C"
        assert [(f["part_number"], f["ref_no"]) for f in model["parts"]] == [
            ("1-474-594-11", "101"),
            ("A-2072-533-A", "102"),
        ]

    def test_releases_and_diff(self, client: FlaskClient) -> None:
        releases = client.get("/api/v1/releases").get_json()["releases"]
        assert [r["label"] for r in releases] == ["2026.2", "2026.1"]
        assert [r["kind"] for r in releases] == ["snapshot", "snapshot"]
        diff = client.get("/api/v1/releases/2026.1/diff/2026.2").get_json()
        assert diff["from"] == "2026.1"
        assert diff["counts"] == {"added": 1, "removed": 0, "changed": 0, "newly_superseded": 1}
        assert [p["part_number"] for p in diff["added"]] == ["1-480-001-11"]
        assert [e["old"] for e in diff["newly_superseded"]] == ["1-474-594-11"]

    def test_bad_arguments_are_422_with_messages(self, client: FlaskClient) -> None:
        response = client.get("/api/v1/releases/2026.1/diff/2026.2?limit=0")
        assert response.status_code == 422
        assert "limit" in json.dumps(response.get_json()["errors"])


def test_api_needs_a_sign_in(client: FlaskClient) -> None:
    response = client.get("/api/v1/releases")
    assert response.status_code == 401
    assert response.is_json


def test_empty_catalogue_says_so(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    response = client.get("/api/v1/parts/1-474-594-11/resolution")
    assert response.status_code == 404
    assert "no release has been imported yet" in response.get_json()["message"]


def test_openapi_document_lists_the_contract(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/parts/{number}",
        "/api/v1/parts/{number}/resolution",
        "/api/v1/parts/{number}/where-used",
        "/api/v1/models/{model_number}/parts",
        "/api/v1/releases",
        "/api/v1/releases/{a}/diff/{b}",
    ):
        assert path in paths


def test_catalog_import_resolve_and_diff_commands(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    first = runner.invoke(
        args=[
            "catalog",
            "import",
            str(base_release(tmp_path / "a", supersessions=[])),
            "--release",
            "A",
        ]
    )
    assert first.exit_code == 0, first.output
    assert "parts +5 -0 ~0.\nSearch index rebuilt; it reflects release A." in first.output
    dry = runner.invoke(
        args=["catalog", "import", str(base_release(tmp_path / "b")), "--release", "B", "--dry-run"]
    )
    assert dry.exit_code == 0
    assert "Valid; would import release B" in dry.output
    second = runner.invoke(
        args=["catalog", "import", str(base_release(tmp_path / "b")), "--release", "B"]
    )
    assert second.exit_code == 0
    resolved = runner.invoke(args=["catalog", "resolve", "1474594-11"])
    assert "order 1-474-594-12 × 1 (active)" in resolved.output
    as_json = json.loads(
        runner.invoke(args=["catalog", "resolve", "1474594-11", "--as-of", "A", "--json"]).output
    )
    assert as_json["outcome"] == "current"
    diff = runner.invoke(args=["catalog", "diff", "A", "B"])
    assert "0 added, 0 removed, 0 changed, 1 newly superseded" in diff.output
    diff_json = json.loads(runner.invoke(args=["catalog", "diff", "A", "B", "--json"]).output)
    assert diff_json["counts"]["newly_superseded"] == 1


def test_catalog_import_refuses_with_the_report(runner: FlaskCliRunner, tmp_path: Path) -> None:
    folder = base_release(
        tmp_path / "bad", fitments=[{"model_number": "NOPE", "part_number": "1-474-594-11"}]
    )
    result = runner.invoke(args=["catalog", "import", str(folder), "--release", "X"])
    assert result.exit_code == 1
    assert (
        "fitments.csv:2 [model_number]: model NOPE is not in this release or an earlier one"
        in result.output
    )
    assert "Nothing was imported." in result.output
    unknown = runner.invoke(args=["catalog", "resolve", "1-1", "--as-of", "nope"])
    assert unknown.exit_code == 1
    assert "There is no release 'nope'." in unknown.output
