"""Part search: every spelling of a number, a family, words with typos and synonyms, the index's
generations, the log of changes, and drift."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from parts_catalog import search, search_index, search_queue
from parts_catalog.importer import import_release
from parts_catalog.indexes import IndexStore, IndexUnavailable, WriterBusy, compare
from parts_catalog.models import SearchChange
from parts_catalog.services import release_for
from tests.parts_catalog.releases import (
    BASE_FITMENTS,
    BASE_MODELS,
    BASE_PARTS,
    base_release,
    part,
)

SYNONYMS = {search.stems("power supply"): [search.stems("power board")]}
WIFI = {search.stems("wifi"): [search.stems("wireless lan module")]}
PARTS = [*BASE_PARTS, part("1-480-001-11", "WIRELESS LAN MODULE", category="module")]


def build(session: Session, store: IndexStore) -> None:
    """What ``flask search reindex`` does, without the app: fill a generation, make it live."""
    release = release_for(session)
    generation = store.new_generation()
    writer = store.writer(generation)
    search_index.write_documents(writer, search_index.documents(session, release), fresh=True)
    writer.commit()
    store.record(generation, release_id=release.id, release_label=release.label)
    store.publish(generation)


@pytest.fixture
def store(session: Session, tmp_path: Path) -> IndexStore:
    import_release(session, path=base_release(tmp_path / "r1", parts=PARTS), label="r1")
    store = IndexStore(tmp_path / "index", search_index.INDEX_NAME, search_index.SCHEMA)
    build(session, store)
    return store


def find(
    session: Session, store: IndexStore | None, text: str, **options: object
) -> search.Results:
    synonyms = options.pop("synonyms", None)
    kinds = options.pop("kinds", search.KINDS)
    filters = options.pop("filters", None)
    engine = search.PartSearch(
        session,
        store.searcher() if store else None,
        release_for(session),
        kinds=kinds,  # type: ignore[arg-type]
        filters=filters,  # type: ignore[arg-type]
        synonyms=synonyms,  # type: ignore[arg-type]
    )
    return engine.run(text, **options)  # type: ignore[arg-type]


def keys(results: search.Results) -> list[str]:
    return [h.key for h in results.hits]


@pytest.mark.parametrize(
    "spelling",
    ["A-2072-533-A", "a2072533a", "A 2072 533 A", "a-2072-533-a", " A2072-533A "],
)
def test_every_spelling_of_a_number_finds_its_part_first(
    session: Session, store: IndexStore, spelling: str
) -> None:
    hits = find(session, store, spelling).hits
    assert hits[0].key == "A-2072-533-A"
    assert hits[0].why == "number"
    assert hits[0].highlights[-1].spans == ((0, len("A-2072-533-A")),)


def test_a_superseded_number_shows_what_to_order(session: Session, store: IndexStore) -> None:
    for spelling in ("1-474-594-11", "147459411", "1474 594 11", "1474594-11"):
        first, second = find(session, store, spelling).hits[:2]
        assert (first.key, first.why) == ("1-474-594-11", "number")
        assert first.replacement is not None
        assert first.replacement.order == ("1-474-594-12",)
        assert "order 1-474-594-12" in first.highlights[0].text
        assert (second.key, second.why) == ("1-474-594-12", "replaces")
        assert second.highlights[0].text == "replaces 1-474-594-11"


def test_a_number_no_longer_listed_finds_its_replacement(
    session: Session, store: IndexStore, tmp_path: Path
) -> None:
    later = [p for p in PARTS if p["part_number"] != "1-474-594-11"]
    import_release(
        session, path=base_release(tmp_path / "r2", parts=later), label="r2", allow_drops=True
    )
    build(session, store)
    hits = find(session, store, "1-474-594-11").hits
    assert [h.key for h in hits] == ["1-474-594-12"]
    assert hits[0].why == "replaces"


def test_a_prefix_finds_the_family(session: Session, store: IndexStore) -> None:
    assert set(keys(find(session, store, "1474594"))[:2]) == {"1-474-594-11", "1-474-594-12"}
    hit = find(session, store, "a2072").hits[0]
    assert hit.key == "A-2072-533-A"
    assert hit.highlights[0].spans == ((0, 6),)  # "A-2072" as spelled


def test_model_numbers_in_every_spelling(session: Session, store: IndexStore) -> None:
    for spelling in ("KDL55W800C", "kdl-55w800c", "KDL 55W800C"):
        hit = find(session, store, spelling).hits[0]
        assert (hit.kind, hit.key) == (search.MODEL, "KDL-55W800C")
    assert keys(find(session, store, "kdl-55w")) == ["KDL-55W800C"]
    assert find(session, store, "kdl55w800c", kinds=[search.PART]).hits == []


def test_words_are_stemmed_and_forgive_a_typo_or_a_swap(
    session: Session, store: IndexStore
) -> None:
    for text in ("power boards", "pwoer board", "powr board", "POWER BORAD"):
        assert set(keys(find(session, store, text))) == {"1-474-594-11", "1-474-594-12"}, text
    # The current part ranks above the one it supersedes.
    assert keys(find(session, store, "power board"))[0] == "1-474-594-12"


def test_highlights_mark_the_matching_words(session: Session, store: IndexStore) -> None:
    hit = find(session, store, "main boards").hits[0]
    title = hit.highlights[0]
    assert title.field == "title"
    assert [title.text[a:b] for a, b in title.spans] == ["MAIN", "BOARD"]


def test_synonyms_reach_the_catalogues_words(session: Session, store: IndexStore) -> None:
    assert keys(find(session, store, "wifi", synonyms=WIFI)) == ["1-480-001-11"]
    assert keys(find(session, store, "wifi")) == []
    assert set(keys(find(session, store, "power supplies", synonyms=SYNONYMS))) == {
        "1-474-594-11",
        "1-474-594-12",
    }


def test_nothing_relevant_finds_nothing(session: Session, store: IndexStore) -> None:
    for text in ("camera flash", "xyzzy", "the", "no picture after storm"):
        assert find(session, store, text).hits == [], text


def test_a_model_number_among_words_narrows_to_its_parts(
    session: Session, store: IndexStore
) -> None:
    results = find(session, store, "board kdl-55w800c")
    assert results.model == "KDL-55W800C"
    assert set(keys(results)) == {"1-474-594-11", "A-2072-533-A"}  # not 1-474-594-12


def test_unknown_words_are_set_aside_and_said(session: Session, store: IndexStore) -> None:
    results = find(session, store, "main board broken")
    assert keys(results) == ["A-2072-533-A"]
    assert results.ignored == ["broken"]


def test_did_you_mean(session: Session, store: IndexStore) -> None:
    results = find(session, store, "mane")  # two edits from "main": too far to take
    assert results.hits == []
    assert results.did_you_mean == "main"
    assert find(session, store, "xyzzy").did_you_mean is None


def test_filters_and_facets(session: Session, store: IndexStore) -> None:
    results = find(session, store, "board", facets=True)
    assert dict(results.facets["category"]) == {"board": 3}
    assert ("KDL-55W800C", 2) in results.facets["model"]
    assert dict(results.facets["product_line"]) == {"tv": 2}
    narrowed = find(session, store, "board", filters=search.Filters(model="kdl-55w800c"))
    assert set(keys(narrowed)) == {"1-474-594-11", "A-2072-533-A"}
    assert keys(find(session, store, "door", filters=search.Filters(category="board"))) == []


def test_without_an_index_numbers_are_still_answered(session: Session, store: IndexStore) -> None:
    results = find(session, None, "a2072533a")
    assert keys(results) == ["A-2072-533-A"]
    assert results.unavailable
    assert find(session, None, "main board").hits == []


# --- the index on disk ---------------------------------------------------------------------------


# Whoosh leaves the damaged file it could not parse open; the store reports it all the same.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_missing_or_damaged_index_is_reported(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index", search_index.INDEX_NAME, search_index.SCHEMA)
    with pytest.raises(IndexUnavailable, match="reindex"):
        store.searcher()
    with store.writing():
        generation = store.new_generation()
        store.record(generation, release_id=None, release_label=None)
        store.publish(generation)
    store.searcher()
    store.close()
    newer = IndexStore(tmp_path / "index", search_index.INDEX_NAME, search_index.SCHEMA, version=2)
    with pytest.raises(IndexUnavailable, match="another version"):
        newer.searcher()
    for path in generation.glob("*.toc"):
        path.write_bytes(b"not an index")
    with pytest.raises(IndexUnavailable, match="cannot be read"):
        store.searcher()


def test_readers_see_commits_and_rebuilds_without_reopening(
    session: Session, store: IndexStore, tmp_path: Path
) -> None:
    other_worker = IndexStore(store.home.parent, search_index.INDEX_NAME, search_index.SCHEMA)
    assert other_worker.searcher().doc_count() == len(PARTS) + 2
    writer = store.writer(store.live_dir())  # type: ignore[arg-type]
    writer.delete_by_term("doc_id", "part:A2072533A")
    writer.commit()
    assert other_worker.searcher().doc_count() == len(PARTS) + 1
    first = store.live_dir()
    build(session, store)
    assert store.live_dir() != first
    assert other_worker.searcher().doc_count() == len(PARTS) + 2


def test_a_rebuild_keeps_only_the_live_and_the_previous_generation(
    session: Session, store: IndexStore
) -> None:
    for _ in range(3):
        build(session, store)
    assert len(list(store.home.glob("gen-*"))) == 2


def _write_updates(home: Path, worker: int, count: int) -> None:
    store = IndexStore(home.parent, home.name, search_index.SCHEMA)
    for n in range(count):
        with store.writing(timeout=60):
            writer = store.writer(store.live_dir())  # type: ignore[arg-type]
            writer.update_document(
                doc_id=f"part:W{worker}N{n}", kind="part", key=f"W{worker}N{n}", title="PROBE"
            )
            writer.commit()


def test_concurrent_writers_lose_no_update(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index", search_index.INDEX_NAME, search_index.SCHEMA)
    generation = store.new_generation()
    store.record(generation, release_id=None, release_label=None)
    store.publish(generation)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_updates, args=(store.home, w, 25)) for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    assert store.searcher().doc_count() == 75


def test_a_busy_writer_is_reported_not_skipped(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index", search_index.INDEX_NAME, search_index.SCHEMA)
    context = multiprocessing.get_context("fork")
    held, release = context.Event(), context.Event()

    def hold() -> None:
        with store.writing():
            held.set()
            release.wait(30)

    holder = context.Process(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        with pytest.raises(WriterBusy), store.writing(timeout=0.2):
            pass
    finally:
        release.set()
        holder.join(30)
    with store.writing(timeout=5):
        pass


# --- the queue and drift -------------------------------------------------------------------------


def test_an_import_queues_only_what_changed(
    session: Session, store: IndexStore, tmp_path: Path
) -> None:
    session.execute(SearchChange.__table__.delete())
    changed = [
        part("A-2072-533-A", "MAIN BOARD (NEW)", category="board")
        if p["part_number"] == "A-2072-533-A"
        else p
        for p in PARTS
        if p["part_number"] != "4-234-704-11"
    ]
    changed.append(part("1-999-000-11", "HDMI BOARD", category="board"))
    import_release(
        session, path=base_release(tmp_path / "r2", parts=changed), label="r2", allow_drops=True
    )
    queued = set(session.scalars(select(SearchChange.doc_id)))
    assert queued == {"part:A2072533A", "part:423470411", "part:199900011"}
    found = search_index.documents_for(session, release_for(session), queued)
    assert found["part:423470411"] is None
    assert found["part:A2072533A"]["title"] == "MAIN BOARD (NEW)"


def test_an_import_queues_the_parts_whose_fitment_or_fitted_model_changed(
    session: Session, store: IndexStore, tmp_path: Path
) -> None:
    session.execute(SearchChange.__table__.delete())
    fitments = [dict(f) for f in BASE_FITMENTS]
    fitments[0]["quantity"] = "2"  # 1-474-594-11's fitment; the part itself is unchanged
    models = [
        {**m, "name": "Cyber-shot RX100 III (rev)"} if m["model_number"] == "DSC-RX100M3" else m
        for m in BASE_MODELS
    ]
    import_release(
        session,
        path=base_release(tmp_path / "r2", parts=PARTS, fitments=fitments, models=models),
        label="r2",
    )
    queued = set(session.scalars(select(SearchChange.doc_id)))
    assert queued == {"part:147459411", "part:423470401", "model:DSCRX100M3"}


def test_compare_finds_drift(session: Session, store: IndexStore, tmp_path: Path) -> None:
    release = release_for(session)
    clean = compare(
        store.searcher(),
        search_index.documents(session, release),
        index_release="r1",
        database_release="r1",
    )
    assert clean.clean
    assert clean.indexed == clean.expected == len(PARTS) + 2
    writer = store.writer(store.live_dir())  # type: ignore[arg-type]
    writer.delete_by_term("doc_id", "part:A2072533A")
    writer.update_document(doc_id="part:GHOST", kind="part", key="GHOST", title="GHOST")
    current = search_index.documents_for(session, release, ["part:423470401"])["part:423470401"]
    del current["stamp"]
    writer.update_document(
        **search_index.stamped({**current, "title": "DOOR, OLD"})
    )  # as once indexed
    writer.commit()
    drift = compare(
        store.searcher(),
        search_index.documents(session, release),
        index_release="r1",
        database_release="r1",
    )
    assert (drift.missing, drift.extra, drift.stale) == (
        ["part:A2072533A"],
        ["part:GHOST"],
        ["part:423470401"],
    )


# --- the change log ------------------------------------------------------------------------------


def _log(session: Session) -> list[tuple[int, str, bool]]:
    rows = session.execute(
        select(SearchChange.id, SearchChange.doc_id, SearchChange.pruned_before).order_by(
            SearchChange.id
        )
    )
    return [(i, d, p) for i, d, p in rows]


def test_the_log_is_read_after_a_cursor_and_pruned_as_a_prefix(session: Session) -> None:
    session.execute(SearchChange.__table__.delete())
    long_ago = datetime.now(UTC) - timedelta(days=30)
    search_queue.enqueue(session, "parts", ["part:OLD1", "part:OLD2"])
    search_queue.enqueue(session, "trees", ["tree:OLD3"])
    session.execute(update(SearchChange).values(queued_at=long_ago))
    search_queue.enqueue(session, "parts", ["part:NEW1", "part:NEW2"])
    ids = [i for i, _d, _p in _log(session)]
    assert search_queue.high_water(session) == ids[-1]
    assert search_queue.pruned_through(session) == 0
    after = search_queue.changes_after(session, "parts", after=ids[1], upto=ids[-1], limit=10)
    assert after == [(ids[3], "part:NEW1"), (ids[4], "part:NEW2")]
    assert search_queue.changes_after(session, "parts", after=0, upto=ids[3], limit=1) == [
        (ids[0], "part:OLD1")
    ]
    assert search_queue.count_after(session, "parts", after=ids[0]) == 3

    # The newest old row stays, marked: everything before it may be gone.
    assert search_queue.prune(session, before=datetime.now(UTC) - timedelta(days=14)) == 2
    assert [(d, p) for _i, d, p in _log(session)] == [
        ("tree:OLD3", True),
        ("part:NEW1", False),
        ("part:NEW2", False),
    ]
    assert search_queue.pruned_through(session) == ids[2] - 1
    assert search_queue.prune(session, before=datetime.now(UTC) - timedelta(days=14)) == 0

    # Pruning everything keeps the newest row, so ids never go back and the log never empties.
    session.execute(update(SearchChange).values(queued_at=long_ago))
    assert search_queue.prune(session, before=datetime.now(UTC)) == 2
    assert _log(session) == [(ids[-1], "part:NEW2", True)]
    assert search_queue.high_water(session) == ids[-1]
    assert search_queue.pruned_through(session) == ids[-1] - 1
    search_queue.enqueue(session, "parts", ["part:NEXT"])
    assert search_queue.high_water(session) > ids[-1]


def test_log_ids_follow_commit_order(engine: Engine) -> None:
    """A transaction appending to the log waits for one that appended before it to end, so a
    follower that sees an id sees every lower one: none can commit later."""
    first = Session(engine)
    done = threading.Event()
    failed: list[BaseException] = []

    def second() -> None:
        try:
            with Session(engine) as other:
                search_queue.enqueue(other, "parts", ["part:ORDER2"])
                other.commit()
        except BaseException as exc:  # reported by the test below
            failed.append(exc)
        done.set()

    thread = threading.Thread(target=second)
    try:
        search_queue.enqueue(first, "parts", ["part:ORDER1"])  # holds the append lock
        thread.start()
        assert not done.wait(0.5), "the second append did not wait for the first to commit"
        first.commit()
        thread.join(10)
        assert not failed, failed
        assert done.is_set()
        with Session(engine) as reader:
            ids = dict(
                reader.execute(
                    select(SearchChange.doc_id, SearchChange.id).where(
                        SearchChange.doc_id.in_(["part:ORDER1", "part:ORDER2"])
                    )
                ).all()
            )
        assert ids["part:ORDER1"] < ids["part:ORDER2"]
    finally:
        first.close()
        thread.join(10)
        with Session(engine) as cleanup:
            cleanup.execute(
                delete(SearchChange).where(SearchChange.doc_id.in_(["part:ORDER1", "part:ORDER2"]))
            )
            cleanup.commit()
