"""A rebuild's own segment writer: the index it writes answers as the one Whoosh's writer
writes for the same documents, and a rebuild shared between processes holds every document
once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from whoosh.searching import Searcher

from app.db import make_engine
from parts_catalog import demo, search, search_index, synonyms
from parts_catalog.indexes import IndexStore, write_generation, write_segment
from parts_catalog.services import release_for
from tests import database
from tests.parts_catalog.test_relevance import RELEVANCE
from tests.parts_catalog.test_search import build


def _postings(searcher: Searcher) -> dict[tuple[str, bytes], Any]:
    """Every term with the statistics its term info keeps (which scoring and skipping read)
    and its postings (spelling words: the word)."""
    reader = searcher.reader()
    found: dict[tuple[str, bytes], Any] = {}
    for name, text in reader.all_terms():
        if name.startswith("spell_"):
            found[name, text] = True  # a spelling word only needs to be there
            continue
        info = reader.term_info(name, text)
        matcher = reader.postings(name, text)
        postings = []
        while matcher.is_active():
            postings.append((matcher.id(), matcher.weight(), matcher.value()))
            matcher.next()
        found[name, text] = (
            info.doc_frequency(),
            info.weight(),
            info.min_length(),
            info.max_length(),
            info.max_weight(),
            info.min_id(),
            info.max_id(),
            postings,
        )
    return found


def _answers(session: Session, searcher: Searcher) -> list[Any]:
    engine = search.PartSearch(
        session, searcher, release_for(session), synonyms=search.load_synonyms(session)
    )
    answers = []
    for query, _expected in RELEVANCE:
        results = engine.run(query, limit=10, facets=True, suggest=True)
        answers.append(
            (
                query,
                [(h.key, h.score, h.why) for h in results.hits],
                results.total,
                results.facets,
                [s.query for s in results.suggestions],
            )
        )
    return answers


def test_the_segment_writer_writes_what_whoosh_writes(session: Session, tmp_path: Path) -> None:
    demo.load(session, tmp_path / "releases")
    synonyms.load_starter(session)
    whooshs = IndexStore(tmp_path / "whoosh", search_index.INDEX_NAME, search_index.SCHEMA)
    build(session, whooshs)
    ours = IndexStore(tmp_path / "ours", search_index.INDEX_NAME, search_index.SCHEMA)
    generation = ours.new_generation()
    documents = search_index.documents(session, release_for(session))
    ours.commit_segments(generation, [write_segment(generation, ours.schema, documents)])
    ours.record(generation, release_id=None, release_label=None)
    ours.publish(generation)
    theirs, mine = whooshs.searcher(), ours.searcher()

    assert mine.doc_count() == theirs.doc_count() > 100
    assert _postings(mine) == _postings(theirs)
    assert sorted(mine.all_stored_fields(), key=lambda d: d["doc_id"]) == sorted(
        theirs.all_stored_fields(), key=lambda d: d["doc_id"]
    )
    assert _answers(session, mine) == _answers(session, theirs)


def test_awkward_values_are_indexed_as_whoosh_indexes_them(tmp_path: Path) -> None:
    awkward = [
        "",
        " ",
        "a, ,b,,c ",
        "The power-board of 3.5mm*x, and AN",
        "Ünïcode STRASSE straße",
        "  lead  spaces\tand\nlines ",
        "x",
        "BOARD board Board boards",
    ]
    docs = [
        search_index.stamped(
            {
                "doc_id": f"part:{n}",
                "kind": "part",
                "key": value or "-",
                "norm": value,
                "title": value,
                "fits": f"{value} {awkward[-1 - n]}",
                "category": value.lower(),
                "status": "active",
                "product_line": value,
                "models": f"{value},{awkward[n - 1]}",
                "safety": False,
                "replaced_by": "",
            }
        )
        for n, value in enumerate(awkward)
    ]
    whooshs = IndexStore(tmp_path / "whoosh", search_index.INDEX_NAME, search_index.SCHEMA)
    theirs = whooshs.new_generation()
    writer = whooshs.writer(theirs)
    search_index.write_documents(writer, docs, fresh=True)
    writer.commit()
    ours = IndexStore(tmp_path / "ours", search_index.INDEX_NAME, search_index.SCHEMA)
    mine = ours.new_generation()
    ours.commit_segments(mine, [write_segment(mine, ours.schema, docs)])
    for store, generation in ((whooshs, theirs), (ours, mine)):
        store.record(generation, release_id=None, release_label=None)
        store.publish(generation)

    assert _postings(ours.searcher()) == _postings(whooshs.searcher())
    assert list(ours.searcher().all_stored_fields()) == docs


def test_shards_together_are_every_document_once(session: Session, tmp_path: Path) -> None:
    demo.load(session, tmp_path / "releases")
    release = release_for(session)
    assert release is not None
    whole = list(search_index.documents(session, release))
    shares = search_index.shards(session, release, 3, least=1)
    assert len(shares) == 3
    assert [d for s in shares for d in search_index.shard_documents(session, s)] == whole
    # Too few parts for a process each: one share.
    assert len(search_index.shards(session, release, 3)) == 1


def test_shares_hold_as_many_documents_the_models_counted(session: Session, tmp_path: Path) -> None:
    demo.load(session, tmp_path / "releases")
    release = release_for(session)
    assert release is not None
    shares = search_index.shards(session, release, 2, least=1)
    sizes = [sum(1 for _ in search_index.shard_documents(session, s)) for s in shares]
    models = sum(1 for d in search_index.documents(session, release) if d["kind"] == "model")
    assert models > 1
    # The first share carries the models, and as many fewer parts.
    assert len(sizes) == 2
    assert abs(sizes[0] - sizes[1]) <= 1


@pytest.fixture
def committed(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    """A database of its own whose data is committed, which other processes can read."""
    if request.config.getoption("--postgres"):
        pytest.skip("forked writers read a SQLite file of their own here")
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    database.migrate(url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        demo.load(session, tmp_path / "releases")
    yield factory
    engine.dispose()


def test_a_rebuild_shared_between_processes(
    committed: sessionmaker[Session], tmp_path: Path
) -> None:
    corpus = search_index.PartsCorpus(shard_least=1)
    store = IndexStore.of(tmp_path / "index", corpus)
    generation = store.new_generation()
    seen: list[int] = []
    with store.writing():
        write_generation(committed, store, generation, processes=3, progress=seen.append)
        store.record(generation, release_id=None, release_label=None)
        store.publish(generation)

    searcher = store.searcher()
    assert len(searcher.reader().segments()) == 3
    with committed() as session:
        release = release_for(session)
        assert release is not None
        expected = {d["doc_id"]: d for d in search_index.documents(session, release)}
        held = {d["doc_id"]: d for d in searcher.all_stored_fields()}
        assert held.keys() == expected.keys()
        assert sum(seen) == len(expected) == searcher.doc_count()
        assert {k: d["stamp"] for k, d in held.items()} == {
            k: d["stamp"] for k, d in expected.items()
        }
        hits = search.PartSearch(session, searcher, release).run("power board").hits
        assert hits
        assert all("POWER" in h.title.upper() for h in hits[:3])
