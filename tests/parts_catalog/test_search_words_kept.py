"""What a searcher works out about a word (the index's words it stands for, a typo's
correction, the trees' correction) is kept for that searcher only: once the index changes, the
next search sees the new words."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from diagnostics.search import SCHEMA as TREES_SCHEMA
from diagnostics.search import search_trees
from parts_catalog import search, search_index
from parts_catalog.importer import import_release
from parts_catalog.indexes import IndexStore
from parts_catalog.services import release_for
from tests.parts_catalog.releases import base_release
from tests.parts_catalog.test_search import build


def _add(store: IndexStore, docs: list[dict[str, object]]) -> None:
    """As the index writer applies a change: into the live generation, committed."""
    live = store.live_dir()
    assert live is not None
    writer = store.writer(live)
    for doc in docs:
        writer.update_document(**doc)
    writer.commit()


def _words(session: Session, store: IndexStore, text: str) -> list[str]:
    engine = search.PartSearch(session, store.searcher(), release_for(session))
    return [h.key for h in engine.run(text, suggest=False).hits]


def test_a_typo_finds_a_word_the_index_gains(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    store = IndexStore(tmp_path / "index", search_index.INDEX_NAME, search_index.SCHEMA)
    build(session, store)
    assert _words(session, store, "grommett") == []
    assert _words(session, store, "grommett") == []  # and again, from what the searcher kept
    grommet = search_index.stamped(
        {
            "doc_id": "part:9999999",
            "kind": "part",
            "key": "9-999-999",
            "norm": "9999999",
            "title": "GROMMET",
            "fits": "",
            "category": "",
            "status": "active",
            "product_line": "",
            "models": "",
            "safety": False,
            "replaced_by": "",
        }
    )
    _add(store, [grommet])

    assert _words(session, store, "grommett") == ["9-999-999"]
    assert _words(session, store, "grommet") == ["9-999-999"]


def _tree(key: str, title: str, symptoms: str) -> dict[str, object]:
    return {
        "doc_id": f"tree:{key}",
        "key": key,
        "title": title,
        "symptoms": symptoms,
        "codes": "",
        "models": "",
        "chassis": "",
        "product_line": "tv",
        "stamp": 0,
    }


def test_the_trees_correct_a_word_with_their_new_words(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index", "trees", TREES_SCHEMA)
    generation = store.new_generation()
    writer = store.writer(generation)
    writer.add_document(**_tree("no-picture", "No picture", "Screen stays dark"))
    writer.commit()
    store.record(generation, release_id=None, release_label=None)
    store.publish(generation)
    assert search_trees(store.searcher(), "screen flickring") == []
    assert search_trees(store.searcher(), "screen flickring") == []  # kept: still nothing

    _add(store, [_tree("flicker", "Screen flickering", "Picture flickering on the screen")])

    assert [h.key for h in search_trees(store.searcher(), "screen flickring")] == ["flicker"]
