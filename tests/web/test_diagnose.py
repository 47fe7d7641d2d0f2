"""Diagnostics through the portal: the sessions API as the contract names it, the commands,
and the pages."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.roles import Role
from app.search import indexing
from diagnostics import services, trees
from diagnostics.models import TreeRevision
from parts_catalog.importer import import_release
from tests.conftest import AuthActions
from tests.diagnostics.test_trees import TREE
from tests.factories import make_user
from tests.parts_catalog.releases import base_release


@pytest.fixture
def published(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    services.import_tree(session, trees.dump(TREE), by="eng", publish=True)
    session.commit()


def current_app_for(client: FlaskClient):  # type: ignore[no-untyped-def]
    return client.application


@pytest.fixture
def signed_in(auth: AuthActions) -> None:
    auth.login(Role.TECHNICIAN)


@pytest.mark.usefixtures("published", "signed_in")
def test_the_sessions_api(client: FlaskClient, auth: AuthActions) -> None:
    # A browser session's POSTs carry the CSRF token in a header (a Bearer token needs none).
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    started = client.post(
        "/api/v1/diagnostics/sessions", json={"code": "blink:2", "model": "kdl-55w800c"}
    )
    assert started.status_code == 201
    body = started.get_json()
    assert (body["tree"], body["revision"]) == ("tv-red-led-blinks", 1)
    # The code answered the first question (how many blinks) already.
    assert [s["answer"] for s in body["path"]] == ["2"]
    url = f"/api/v1/diagnostics/sessions/{body['id']}"
    back = client.post(f"{url}/back").get_json()
    assert back["node"] == {
        "id": "count",
        "kind": "choice",
        "text": "How many times does it blink?",
        "options": ["2", "6"],
    }
    step = client.post(f"{url}/answers", json={"option": "2"}).get_json()
    assert step["node"]["kind"] == "measure"
    assert step["node"]["unit"] == "V"
    assert [r["label"] for r in step["node"]["ranges"]] == ["below 11.4 V", "11.4 V or more"]
    assert step["path"] == [
        {"node": "count", "kind": "choice", "text": "How many times does it blink?", "answer": "2"}
    ]
    wrong = client.post(f"{url}/answers", json={"option": "2"})
    assert wrong.status_code == 422
    assert "needs a measured value" in wrong.get_json()["message"]
    assert client.get(url).get_json()["node"]["id"] == "psu"  # nothing changed
    fix = client.post(f"{url}/answers", json={"value": 10.9}).get_json()["node"]
    assert fix["kind"] == "fix"
    part = fix["parts"][0]
    assert part["requested"] == "1-474-594-11"
    assert part["resolution"]["outcome"] == "superseded"
    assert part["resolution"]["result"][0]["part_number"] == "1-474-594-12"
    assert set(fix["estimate"]) >= {
        "parts_total",
        "labour",
        "total",
        "exchange_value",
        "recommend_exchange",
    }
    assert fix["estimate"]["parts_total"] == "89.00"
    back = client.post(f"{url}/back").get_json()
    assert back["node"]["id"] == "psu"
    assert client.post(f"{url}/answers", json={"value": "12.1"}).get_json()["node"]["kind"] == (
        "escalate"
    )


@pytest.mark.usefixtures("published", "signed_in")
def test_the_sessions_api_refuses_clearly(client: FlaskClient, auth: AuthActions) -> None:
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    missing = client.post(
        "/api/v1/diagnostics/sessions", json={"code": "blink:9", "model": "KDL-55W800C"}
    )
    assert missing.status_code == 404
    assert "No published tree answers blink:9" in missing.get_json()["message"]
    assert client.post("/api/v1/diagnostics/sessions", json={"tree": "nope"}).status_code == 404
    assert client.post("/api/v1/diagnostics/sessions", json={}).status_code == 422
    started = client.post("/api/v1/diagnostics/sessions", json={"tree": "tv-red-led-blinks"})
    assert started.status_code == 201
    url = f"/api/v1/diagnostics/sessions/{started.get_json()['id']}"
    assert client.post(f"{url}/answers", json={"option": "2", "value": 3}).status_code == 422
    assert client.post(f"{url}/answers", json={}).status_code == 422
    assert client.post(f"{url}/back").status_code == 422
    assert client.get("/api/v1/diagnostics/sessions/unknown").status_code == 404


@pytest.mark.usefixtures("published")
def test_import_export_validate_commands(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    exported = runner.invoke(args=["diagnostics", "export", "tv-red-led-blinks"])
    assert exported.exit_code == 0
    path = tmp_path / "tree.yaml"
    path.write_text(exported.output, encoding="utf-8")
    assert (
        "tv-red-led-blinks: valid (5 nodes)."
        in runner.invoke(args=["diagnostics", "validate", str(path)]).output
    )
    imported = runner.invoke(args=["diagnostics", "import", str(path)])
    assert "Imported tv-red-led-blinks revision 2 (draft)." in imported.output
    as_json = runner.invoke(
        args=["diagnostics", "export", "tv-red-led-blinks", "--revision", "2", "--format", "json"]
    )
    assert json.loads(as_json.output) == TREE
    assert as_json.output == trees.dump(TREE, fmt="json")

    broken = copy.deepcopy(TREE)
    broken["start"] = "begin"
    broken["nodes"]["replace-psu"]["parts"] = [{"part": "9-999-999-99", "qty": 1}]
    path.write_text(trees.dump(broken), encoding="utf-8")
    before = session.scalar(select(func.count()).select_from(TreeRevision))
    refused = runner.invoke(args=["diagnostics", "import", str(path), "--publish"])
    assert refused.exit_code == 1
    assert "tree.yaml: start: “begin” is not a node" in refused.output
    assert "Refused: The tree has " in refused.output
    assert session.scalar(select(func.count()).select_from(TreeRevision)) == before
    assert runner.invoke(args=["diagnostics", "validate", str(path)]).exit_code == 1
    missing = runner.invoke(args=["diagnostics", "export", "nope"])
    assert missing.exit_code == 1
    assert "There is no tree “nope”." in missing.output


@pytest.mark.usefixtures("published", "signed_in")
def test_walking_the_pages(client: FlaskClient, auth: AuthActions) -> None:
    token = auth.csrf()
    entry = client.post(
        "/diagnose/code",
        data={"scheme": "blink", "value": "9", "model": "KDL-55W800C", "csrf_token": token},
    )
    assert entry.status_code == 422
    html = entry.get_data(as_text=True)
    assert "No published tree answers blink:9" in html
    assert 'value="KDL-55W800C"' in html
    opened = client.post(
        "/diagnose/code",
        data={"scheme": "blink", "value": "2", "model": "kdl55w800c", "csrf_token": token},
    )
    assert opened.status_code == 302
    walk = opened.headers["Location"]
    answer = f"{walk}/answer"
    # blink:2 answered "how many times does it blink?" already; a second "2" is refused.
    again = client.post(answer, data={"option": "2", "node": "count", "csrf_token": token})
    assert again.status_code == 422
    assert "answered already" in again.get_data(as_text=True)
    wrong = client.post(answer, data={"value": "about twelve", "csrf_token": token})
    assert wrong.status_code == 422
    assert "is not a number in V" in wrong.get_data(as_text=True)
    assert 'value="about twelve"' in wrong.get_data(as_text=True)
    client.post(answer, data={"value": "10.9", "csrf_token": token})
    page = client.get(walk).get_data(as_text=True)
    assert '<h1 id="node-text" class="question-text">Fix</h1>' in page
    assert "<p>Replace the power board</p>" in page
    assert "1-474-594-12 × 1" in page
    assert "How many times does it blink?</span> <strong>2</strong>" in page
    client.post(f"{walk}/feedback", data={"fixed": "yes", "note": "Works", "csrf_token": token})
    assert "Recorded: fixed" in client.get(walk).get_data(as_text=True)
    summary = client.get(f"{walk}/summary").get_data(as_text=True)
    assert "Measure 12 V at CN6101 pin 1 — <strong>10.9 V</strong>" in summary
    listing = client.get("/diagnose?model=KDL-55W800C").get_data(as_text=True)
    assert "Red standby LED blinks, no picture" in listing
    found = client.get("/diagnose?q=standby+blinking").get_data(as_text=True)
    assert "Red standby LED blinks, no picture" in found


@pytest.mark.usefixtures("signed_in")
def test_published_trees_are_found_by_symptom(
    client: FlaskClient, runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    session.commit()
    path = tmp_path / "tree.yaml"
    path.write_text(trees.dump(TREE), encoding="utf-8")
    imported = runner.invoke(args=["diagnostics", "import", str(path), "--publish"])
    assert "Search index (trees) rebuilt; it is up to date." in imported.output  # first time
    found = client.get("/api/v1/search?q=standby+blinking&kind=trees").get_json()["results"]
    assert [(r["kind"], r["key"]) for r in found] == [("tree", "tv-red-led-blinks")]
    typo = client.get("/api/v1/search?q=standby+blnking").get_json()["results"]
    assert typo[0]["key"] == "tv-red-led-blinks"
    assert client.get("/api/v1/search?q=lens+error&kind=trees").get_json()["results"] == []
    assert client.get("/api/v1/search?q=blink:6&kind=trees").get_json()["results"][0]["key"] == (
        "tv-red-led-blinks"
    )
    page = client.get("/diagnose?q=no+picture").get_data(as_text=True)
    assert "Red standby LED blinks, no picture" in page
    assert "Start the tree" in client.get("/diagnose/trees/tv-red-led-blinks").get_data(
        as_text=True
    )
    assert client.get("/diagnose/trees/nope").status_code == 404
    health = client.get("/healthz").get_json()["search"]["others"]["trees"]
    assert health["status"] == "ok"


@pytest.mark.usefixtures("published", "signed_in")
def test_what_a_session_holds_is_escaped(client: FlaskClient, auth: AuthActions) -> None:
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    serial = "</textarea><script>alert(1)</script>"
    started = client.post(
        "/api/v1/diagnostics/sessions", json={"tree": "tv-red-led-blinks", "serial": serial}
    ).get_json()
    url = f"/api/v1/diagnostics/sessions/{started['id']}"
    client.post(f"{url}/answers", json={"option": "2"})
    assert client.post(f"{url}/answers", json={"value": 12}).get_json()["node"]["kind"] == (
        "escalate"
    )
    page = client.get(f"/diagnose/sessions/{started['id']}").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;/textarea&gt;&lt;script&gt;" in page
    stale = client.post(f"{url}/answers", json={"option": "2", "node": "count"})
    assert stale.status_code == 422


@pytest.mark.usefixtures("published", "signed_in")
def test_trees_follow_the_model_filter(client: FlaskClient) -> None:
    for store in indexing.stores(current_app_for(client)):
        indexing.sync(current_app_for(client).extensions["session_factory"], store)
    found = client.get("/api/v1/search?q=no+picture&kind=trees&model=KDL-55W800C").get_json()
    assert [r["key"] for r in found["results"]] == ["tv-red-led-blinks"]
    other = client.get("/api/v1/search?q=no+picture&kind=trees&model=DSC-RX100M3").get_json()
    assert other["results"] == []


@pytest.mark.usefixtures("published")
def test_only_the_starters_centre_changes_a_walk(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    starter = make_user(session, role=Role.TECHNICIAN)
    colleague = make_user(session, role=Role.TECHNICIAN, centre=starter.centre)
    stranger = make_user(session, role=Role.TECHNICIAN)
    session.commit()
    auth.login(user=starter)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    started = client.post(
        "/api/v1/diagnostics/sessions", json={"tree": "tv-red-led-blinks"}
    ).get_json()
    url = f"/api/v1/diagnostics/sessions/{started['id']}"
    mismatch = client.post(
        "/api/v1/diagnostics/sessions", json={"tree": "tv-red-led-blinks", "code": "blink:9"}
    )
    assert mismatch.status_code == 422
    auth.logout()
    auth.login(user=stranger)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    assert client.get(url).status_code == 200  # read by the link
    refused = client.post(f"{url}/answers", json={"option": "2"})
    assert refused.status_code == 403
    assert "another service centre" in refused.get_json()["message"]
    page = client.get(f"/diagnose/sessions/{started['id']}").get_data(as_text=True)
    assert "You are reading a walk started by" in page
    auth.logout()
    auth.login(user=colleague)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    assert client.post(f"{url}/answers", json={"option": "2"}).status_code == 200


@pytest.mark.usefixtures("published", "signed_in")
def test_a_described_symptom_forgives_one_stray_word(client: FlaskClient) -> None:
    for store in indexing.stores(current_app_for(client)):
        indexing.sync(current_app_for(client).extensions["session_factory"], store)

    def keys(q: str) -> list[str]:
        found = client.get("/api/v1/search", query_string={"q": q, "kind": "trees"})
        return [r["key"] for r in found.get_json()["results"]]

    assert keys("standby light keeps blinking") == ["tv-red-led-blinks"]  # "keeps" set aside
    assert keys("blinking") == ["tv-red-led-blinks"]
    assert keys("camera blinking") == []  # half unknown: not a question about blinking
    assert keys("strange noise from speakers") == []


@pytest.mark.usefixtures("published", "signed_in")
def test_the_api_asks_again_for_an_implausible_value(
    client: FlaskClient, auth: AuthActions
) -> None:
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    started = client.post("/api/v1/diagnostics/sessions", json={"tree": "tv-red-led-blinks"})
    url = f"/api/v1/diagnostics/sessions/{started.get_json()['id']}"
    measuring = client.post(f"{url}/answers", json={"option": "2"}).get_json()["node"]
    assert measuring["plausible"] == {"min": 0, "max": 30, "label": "0 to 30 V"}
    refused = client.post(f"{url}/answers", json={"value": 121})
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["error"] == "Implausible value"
    assert body["message"].startswith(
        "121 V is outside the plausible range for this measurement (0 to 30 V)."
    )
    assert '"confirm_implausible": true' in body["message"]
    assert body["plausible"] == {"min": 0, "max": 30, "label": "0 to 30 V"}
    assert body["confirm_with"] == {"value": 121, "confirm_implausible": True}
    assert client.get(url).get_json()["node"]["id"] == "psu"  # nothing recorded
    vague = {"value": 121, "confirm_implausible": "maybe"}
    assert client.post(f"{url}/answers", json=vague).status_code == 422
    taken = client.post(f"{url}/answers", json={"value": 121, "confirm_implausible": True})
    assert taken.status_code == 200
    entry = taken.get_json()["path"][-1]
    assert entry["answer"] == (
        "121 V (outside the plausible 0 to 30 V; confirmed after re-measuring)"
    )
    assert entry["implausible_confirmed_at"] is not None
    assert taken.get_json()["node"]["kind"] == "escalate"


@pytest.mark.usefixtures("published", "signed_in")
def test_the_walk_page_asks_again_for_an_implausible_value(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    from diagnostics.models import SessionAnswer

    token = auth.csrf()
    opened = client.post(
        "/diagnose/code",
        data={"scheme": "blink", "value": "2", "model": "KDL-55W800C", "csrf_token": token},
    )
    walk = opened.headers["Location"]
    page = client.get(walk).get_data(as_text=True)
    assert "Plausible: 0 to 30 V" in page
    assert 'name="confirm_implausible"' not in page  # offered only once a value is refused
    refused = client.post(
        f"{walk}/answer", data={"value": "121", "node": "psu", "csrf_token": token}
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "121 V is outside the plausible range for this measurement (0 to 30 V)." in html
    assert 'value="121"' in html  # what was typed
    assert 'name="confirm_implausible" value="121"' in html
    assert "I re-measured: the value is right" in html
    assert session.scalars(select(SessionAnswer).where(SessionAnswer.node == "psu")).all() == []
    # A confirmation of another value does not confirm this one.
    other = client.post(
        f"{walk}/answer",
        data={"value": "95", "confirm_implausible": "121", "node": "psu", "csrf_token": token},
    )
    assert other.status_code == 422
    assert "95 V is outside the plausible range" in other.get_data(as_text=True)
    taken = client.post(
        f"{walk}/answer",
        data={"value": "121", "confirm_implausible": "121", "node": "psu", "csrf_token": token},
    )
    assert taken.status_code == 302
    stored = session.scalars(select(SessionAnswer).where(SessionAnswer.node == "psu")).one()
    assert stored.implausible_confirmed_at is not None
    page = client.get(walk).get_data(as_text=True)
    assert "121 V (outside the plausible 0 to 30 V; confirmed after re-measuring)" in page
    assert f'datetime="{stored.implausible_confirmed_at.isoformat()}"' in page
    summary = client.get(f"{walk}/summary").get_data(as_text=True)
    assert "confirmed after re-measuring" in summary
