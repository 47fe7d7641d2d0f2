"""Search through the portal: the API contract, pages, suggestions, synonyms, and the index
following imports, rebuilt, checked and reported; several nodes' indexes following one log."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.roles import Role
from app.search import indexing
from parts_catalog import search_index, search_queue
from parts_catalog.importer import import_release
from parts_catalog.indexes import IndexStore
from parts_catalog.models import SearchChange
from tests.conftest import AuthActions
from tests.parts_catalog.releases import BASE_PARTS, base_release, part

PARTS = [*BASE_PARTS, part("1-480-001-11", "WIRELESS LAN MODULE", category="module")]


@pytest.fixture
def catalogue(runner: FlaskCliRunner, tmp_path: Path) -> None:
    """A release imported the way an engineer does it, which also builds the index."""
    result = runner.invoke(
        args=[
            "catalog",
            "import",
            str(base_release(tmp_path / "r1", parts=PARTS)),
            "--release",
            "r1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt; it reflects release r1." in result.output


@pytest.fixture
def signed_in(auth: AuthActions) -> None:
    auth.login()


def api(client: FlaskClient, **params: str | int) -> dict:  # type: ignore[type-arg]
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


@pytest.mark.usefixtures("catalogue", "signed_in")
def test_the_api_contract(client: FlaskClient) -> None:
    for spelling in ("A-2072-533-A", "a2072533a", "A 2072 533-A"):
        body = api(client, q=spelling, kind="parts", limit=5)
        assert body["query"] == " ".join(spelling.split())
        first = body["results"][0]
        assert {"kind", "key", "title", "score", "highlights"} <= set(first)
        assert (first["kind"], first["key"], first["title"]) == (
            "part",
            "A-2072-533-A",
            "MAIN BOARD",
        )
        assert body["did_you_mean"] is None
    models = api(client, q="kdl-55w800c", kind="models")["results"]
    assert [(r["kind"], r["key"]) for r in models] == [("model", "KDL-55W800C")]
    assert api(client, q="board", limit=1)["results"][0]["kind"] == "part"
    assert len(api(client, q="board", limit=1)["results"]) == 1
    assert api(client, q="power board", kind="trees")["results"] == []
    assert api(client, q="camera flash")["results"] == []
    assert api(client, q="mane")["did_you_mean"] == "main"
    words = api(client, q="main baord")["results"][0]
    assert words["key"] == "A-2072-533-A"
    assert words["highlights"][0] == {
        "field": "title",
        "text": "MAIN BOARD",
        "spans": [[0, 4], [5, 10]],
    }


@pytest.mark.usefixtures("catalogue", "signed_in")
def test_the_api_refuses_bad_arguments(client: FlaskClient) -> None:
    assert client.get("/api/v1/search").status_code == 422
    assert client.get("/api/v1/search?q=x&kind=cats").status_code == 422
    assert client.get("/api/v1/search?q=x&limit=0").status_code == 422
    assert client.get("/api/v1/search?q=x&limit=1000").status_code == 422


@pytest.mark.usefixtures("catalogue", "signed_in")
def test_a_superseded_number_shows_its_replacement(client: FlaskClient) -> None:
    results = api(client, q="1474594 11")["results"]
    assert [r["key"] for r in results[:2]] == ["1-474-594-11", "1-474-594-12"]
    assert results[0]["replacement"]["order"] == ["1-474-594-12"]
    assert results[1]["highlights"][0]["text"] == "replaces 1-474-594-11"


@pytest.mark.usefixtures("catalogue", "signed_in")
def test_the_index_follows_imports_without_a_restart(
    client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    assert api(client, q="hdmi board")["results"] == []
    api(client, q="door battery")  # this worker's searcher is open on the old data
    later = [*PARTS[:-2], part("1-999-000-11", "HDMI BOARD", category="board")]
    result = runner.invoke(
        args=[
            "catalog",
            "import",
            str(base_release(tmp_path / "r2", parts=later)),
            "--release",
            "r2",
            "--allow-drops",  # two parts of six delisted: confirmed
        ]
    )
    assert "Search index 3 document(s) updated; it reflects release r2." in result.output
    assert [r["key"] for r in api(client, q="hdmi board")["results"]] == ["1-999-000-11"]
    assert [r["key"] for r in api(client, q="door battery")["results"]] == ["4-234-704-01"]
    assert client.get("/healthz").get_json()["search"]["status"] == "ok"


@pytest.mark.usefixtures("catalogue")
def test_health_reports_an_index_that_is_behind_until_synced(
    client: FlaskClient, runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    later = [*PARTS, part("1-999-000-11", "HDMI BOARD")]
    import_release(session, path=base_release(tmp_path / "r2", parts=later), label="r2")
    session.commit()  # committed and queued, not yet applied
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.get_json()
    assert body["status"] == "degraded"
    assert body["search"]["status"] == "behind"
    assert body["search"]["pending"] == 1
    assert body["search"]["release"] == "r1"
    assert body["search"]["latest_release"] == "r2"
    assert "1 document(s) updated" in runner.invoke(args=["search", "sync"]).output
    assert client.get("/healthz").get_json()["search"]["status"] == "ok"


@pytest.mark.usefixtures("catalogue")
def test_reindex_builds_a_new_directory_and_swaps_it_in(app: Flask, runner: FlaskCliRunner) -> None:
    store = indexing.parts_index(app)
    before = store.live_dir()
    result = runner.invoke(args=["search", "reindex", "--processes", "1"])
    assert result.exit_code == 0, result.output
    assert "Indexed 8 parts documents (release r1)" in result.output
    assert "Indexed 0 trees documents (published)" in result.output
    assert store.live_dir() != before
    assert store.meta().release_label == "r1"  # type: ignore[union-attr]


@pytest.mark.usefixtures("catalogue")
def test_check_finds_drift_and_repairs_it(app: Flask, runner: FlaskCliRunner) -> None:
    assert "The parts index matches the database." in runner.invoke(args=["search", "check"]).output
    store = indexing.parts_index(app)
    writer = store.writer(store.live_dir())  # type: ignore[arg-type]
    writer.delete_by_term("doc_id", "part:A2072533A")
    writer.commit()
    drifted = runner.invoke(args=["search", "check"])
    assert drifted.exit_code == 1
    assert "1 missing: part:A2072533A" in drifted.output, drifted.output
    repaired = runner.invoke(args=["search", "check", "--repair"])
    assert "Repaired: 1 document(s) re-indexed" in repaired.output, repaired.output
    assert runner.invoke(args=["search", "check"]).exit_code == 0


@pytest.mark.usefixtures("catalogue", "signed_in")
def test_a_missing_index_is_reported_and_numbers_still_work(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    store = indexing.parts_index(app)
    store.close()
    shutil.rmtree(store.home)
    page = client.get("/search?q=main+board")
    assert page.status_code == 200
    assert "only exact part and model numbers are answered" in page.get_data(as_text=True)
    body = api(client, q="a2072533a")
    assert [r["key"] for r in body["results"]] == ["A-2072-533-A"]
    assert body["index_available"] is False
    assert client.get("/healthz").get_json()["search"]["status"] == "missing"
    assert "rebuilt" in runner.invoke(args=["search", "sync"]).output
    assert api(client, q="main board")["results"][0]["key"] == "A-2072-533-A"


@pytest.mark.usefixtures("catalogue", "signed_in")
def test_the_results_page(client: FlaskClient) -> None:
    html = client.get("/search?q=board").get_data(as_text=True)
    assert "<mark>BOARD</mark>" in html
    assert "Category" in html
    assert "Model" in html
    assert 'href="/search?q=board&amp;model=KDL-55W800C"' in html
    narrowed = client.get("/search?q=board&model=KDL-55W800C").get_data(as_text=True)
    assert "A-2072-533-A" in narrowed
    assert "1-480-001-11" not in narrowed
    assert "Clear filters" in narrowed
    # One thing meant: its results at once, and the query as typed a link away.
    corrected = client.get("/search?q=mane").get_data(as_text=True)
    assert "Showing results for <strong>main</strong>" in corrected
    assert "<mark>MAIN</mark>" in corrected
    assert 'href="/search?q=mane&amp;as_typed=1"' in corrected
    nothing = client.get("/search?q=mane&as_typed=1").get_data(as_text=True)
    assert "Nothing in the catalogue matches" in nothing
    assert '<a href="/search?q=main">main</a>' in nothing


@pytest.mark.usefixtures("signed_in")
def test_what_a_part_says_is_escaped(
    client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    parts = [part("1-000-001-11", "<script>alert(1)</script> BOARD")]
    runner.invoke(
        args=[
            "catalog",
            "import",
            str(
                base_release(tmp_path / "x", parts=parts, models=[], fitments=[], supersessions=[])
            ),
            "--release",
            "x",
        ]
    )
    html = client.get("/search?q=board").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.usefixtures("catalogue", "signed_in")
def test_suggestions(client: FlaskClient) -> None:
    body = client.get("/search/suggest?q=1-474-594-11").get_json()
    assert [s["key"] for s in body["suggestions"]] == ["1-474-594-11", "1-474-594-12"]
    assert body["suggestions"][0]["url"] == "/catalog/parts/1-474-594-11"
    assert body["suggestions"][1]["note"] == "replaces 1-474-594-11"
    assert client.get("/search/suggest?q=m").get_json()["suggestions"] == []


@pytest.mark.usefixtures("catalogue")
def test_engineers_keep_the_synonyms(client: FlaskClient, auth: AuthActions) -> None:
    auth.login(Role.ENGINEER)
    assert api(client, q="wifi")["results"] == []
    page = client.post(
        "/search/synonyms",
        data={"words": "WiFi", "means": "wireless lan module", "csrf_token": auth.csrf()},
    )
    assert page.status_code == 302
    assert [r["key"] for r in api(client, q="wifi")["results"]] == ["1-480-001-11"]
    again = client.post(
        "/search/synonyms",
        data={"words": "wifi", "means": "Wireless  LAN module", "csrf_token": auth.csrf()},
    )
    html = again.get_data(as_text=True)
    assert again.status_code == 422
    assert "already finds" in html
    assert 'value="Wireless  LAN module"' in html
    stop = client.post(
        "/search/synonyms", data={"words": "the", "means": "board", "csrf_token": auth.csrf()}
    )
    assert stop.status_code == 422
    assert "stop word" in stop.get_data(as_text=True)
    listing = client.get("/search/synonyms").get_data(as_text=True)
    assert "wireless lan module" in listing


# --- several nodes: each keeps its own index and follows the database's change log -------------


def node_index(root: Path) -> IndexStore:
    """The parts index of a node whose SEARCH_INDEX_DIR is ``root``."""
    return IndexStore.of(root, search_index.PartsCorpus())


def held(store: IndexStore, doc_id: str) -> dict | None:  # type: ignore[type-arg]
    return store.searcher().document(doc_id=doc_id)  # type: ignore[no-any-return]


LATER = [
    *(
        part("A-2072-533-A", "MAIN BOARD (NEW)", category="board")
        if p["part_number"] == "A-2072-533-A"
        else p
        for p in PARTS
    ),
    part("1-999-000-11", "HDMI BOARD", category="board"),
]


def test_every_node_follows_the_log_and_none_consumes_it(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1", parts=PARTS), label="r1")
    session.commit()
    a, b = node_index(tmp_path / "a"), node_index(tmp_path / "b")
    assert indexing.sync(session_factory, a).rebuilt
    assert indexing.sync(session_factory, b).rebuilt
    import_release(session, path=base_release(tmp_path / "r2", parts=LATER), label="r2")
    session.commit()
    logged = session.scalar(select(func.count()).select_from(SearchChange))
    report = indexing.sync(session_factory, a)
    assert (report.rebuilt, report.applied, report.release) == (False, 2, "r2")
    assert held(a, "part:199900011")["title"] == "HDMI BOARD"  # type: ignore[index]
    assert session.scalar(select(func.count()).select_from(SearchChange)) == logged  # kept
    assert indexing.health(session, b).status == "behind"
    assert indexing.health(session, b).pending == 2
    assert held(b, "part:199900011") is None
    report = indexing.sync(session_factory, b)
    assert (report.rebuilt, report.applied, report.release) == (False, 2, "r2")
    assert held(b, "part:199900011")["title"] == "HDMI BOARD"  # type: ignore[index]
    assert held(b, "part:A2072533A")["title"] == "MAIN BOARD (NEW)"  # type: ignore[index]
    assert held(b, "part:423470401") == held(a, "part:423470401")  # untouched
    for store in (a, b):
        assert indexing.sync(session_factory, store).applied == 0
        assert store.meta().change_id == search_queue.high_water(session)  # type: ignore[union-attr]
        assert indexing.health(session, store).status == "ok"


def test_the_cursor_moves_past_other_indexes_changes(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1", parts=PARTS), label="r1")
    session.commit()
    a = node_index(tmp_path / "a")
    indexing.sync(session_factory, a)
    search_queue.enqueue(session, "trees", ["tree:elsewhere"])
    session.commit()
    assert indexing.sync(session_factory, a).applied == 0
    assert a.meta().change_id == search_queue.high_water(session)  # type: ignore[union-attr]


def test_a_node_that_missed_pruned_changes_rebuilds(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1", parts=PARTS), label="r1")
    session.commit()
    a, b = node_index(tmp_path / "a"), node_index(tmp_path / "b")
    indexing.sync(session_factory, a)
    indexing.sync(session_factory, b)
    import_release(session, path=base_release(tmp_path / "r2", parts=LATER), label="r2")
    session.commit()
    indexing.sync(session_factory, a)  # b is away
    session.execute(update(SearchChange).values(queued_at=datetime.now(UTC) - timedelta(days=30)))
    session.commit()
    assert indexing.prune(session_factory, days=14) > 0
    assert indexing.sync(session_factory, a).rebuilt is False  # it had applied everything
    assert indexing.health(session, b).status == "behind"
    report = indexing.sync(session_factory, b)
    assert report.rebuilt
    assert "pruned" in (report.reason or "")
    assert held(b, "part:199900011")["title"] == "HDMI BOARD"  # type: ignore[index]
    assert indexing.sync(session_factory, b).rebuilt is False


def test_an_index_the_log_cannot_explain_is_rebuilt(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1", parts=PARTS), label="r1")
    session.commit()
    a = node_index(tmp_path / "a")
    indexing.sync(session_factory, a)
    live = a.live_dir()
    assert live is not None
    # Copied from another database: further along its log than this one's.
    a.record(live, release_id=1, release_label="r1", change_id=10**9)
    report = indexing.sync(session_factory, a)
    assert report.rebuilt
    assert "ahead" in (report.reason or "")
    # A release this database does not have.
    live = a.live_dir()
    assert live is not None
    a.record(live, release_id=10**9, release_label="r9")
    assert "does not have" in (indexing.sync(session_factory, a).reason or "")
    assert a.meta().release_label == "r1"  # type: ignore[union-attr]


def test_an_index_written_before_the_log_applies_what_is_left(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1", parts=PARTS), label="r1")
    session.commit()
    a = node_index(tmp_path / "a")
    indexing.sync(session_factory, a)
    session.execute(delete(SearchChange))  # what the old writer did once it had applied them
    import_release(session, path=base_release(tmp_path / "r2", parts=LATER), label="r2")
    session.commit()
    live = a.live_dir()
    assert live is not None
    meta = json.loads((live / "meta.json").read_text())
    del meta["change_id"]
    (live / "meta.json").write_text(json.dumps(meta))
    report = indexing.sync(session_factory, a)
    assert (report.rebuilt, report.applied) == (False, 2)
    assert held(a, "part:199900011") is not None
