"""Did you mean: numbers one digit off, swapped, short or long by one; words misspelt beside a
model number; a model number misspelt beside words. Every suggestion finds something."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from parts_catalog import search, search_index, spelling, synonyms
from parts_catalog.importer import import_release
from parts_catalog.indexes import IndexStore
from parts_catalog.services import release_for
from tests.parts_catalog.releases import BASE_FITMENTS, BASE_MODELS, BASE_PARTS, base_release
from tests.parts_catalog.releases import model as model_row
from tests.parts_catalog.releases import part as part_row
from tests.parts_catalog.test_search import build, find

PARTS = [
    *BASE_PARTS,
    part_row("1-480-001-11", "WIRELESS LAN MODULE", category="module"),
    part_row("1-493-002-11", "BATTERY PACK (NP-FZ100)", category="battery"),
]
MODELS = [*BASE_MODELS, model_row("ILCE-7M3", name="Alpha 7 III", product_line="Camera")]
FITMENTS = [
    *BASE_FITMENTS,
    {"model_number": "ILCE-7M3", "part_number": "1-493-002-11", "ref_no": "1"},
]


@pytest.fixture
def store(session: Session, tmp_path: Path) -> IndexStore:
    import_release(
        session,
        path=base_release(tmp_path / "r1", parts=PARTS, models=MODELS, fitments=FITMENTS),
        label="r1",
    )
    synonyms.load_starter(session)  # "power supply" means POWER BOARD
    store = IndexStore(tmp_path / "index", search_index.INDEX_NAME, search_index.SCHEMA)
    build(session, store)
    return store


def ask(session: Session, store: IndexStore | None, text: str, **options: object) -> search.Results:
    return find(session, store, text, synonyms=search.load_synonyms(session), **options)


def offered(results: search.Results) -> list[tuple[str, str]]:
    return [(s.query, s.reason) for s in results.suggestions]


# --- numbers -------------------------------------------------------------------------------------


def test_one_digit_off_offers_the_real_numbers_current_first(
    session: Session, store: IndexStore
) -> None:
    results = ask(session, store, "1-474-594-13")
    assert results.hits == []
    assert offered(results)[:2] == [("1-474-594-12", "digit"), ("1-474-594-11", "digit")]
    best, superseded = results.suggestions[:2]
    assert (best.kind, best.title, best.status) == ("part", "POWER BOARD (GL2A)", "active")
    assert superseded.status == "superseded"  # offered, after the part that replaces it
    assert results.did_you_mean == "1-474-594-12"


@pytest.mark.parametrize(
    ("typed", "meant", "reason"),
    [
        ("1-474-549-12", "1-474-594-12", "swap"),
        ("1474 95 412", "1-474-594-12", "swap"),  # any spelling of the number
        ("A-2072-533-B", "A-2072-533-A", "letter"),
        ("A-2O72-533-A", "A-2072-533-A", "letter"),  # O read for 0 from a label
        ("1-480-01-11", "1-480-001-11", "missing"),
        ("1-480-0011-11", "1-480-001-11", "extra"),
        ("kdl-55w80c", "KDL-55W800C", "missing"),  # a model number too
    ],
)
def test_a_swap_a_letter_a_digit_missing_or_extra(
    session: Session, store: IndexStore, typed: str, meant: str, reason: str
) -> None:
    results = ask(session, store, typed)
    assert results.hits == []
    assert offered(results)[0] == (meant, reason)


def test_numbers_are_suggested_without_the_index(session: Session, store: IndexStore) -> None:
    assert offered(ask(session, None, "1-474-549-12")) == [("1-474-594-12", "swap")]


def test_a_number_too_short_to_guess_from_offers_nothing(
    session: Session, store: IndexStore
) -> None:
    assert ask(session, store, "1-47").suggestions == []
    assert ask(session, store, "9-999-999-99").suggestions == []


def test_the_catalogue_is_asked_once_for_every_candidate(
    session: Session, store: IndexStore
) -> None:
    """A few hundred numbers one edit away, one indexed query: the cost does not grow with the
    catalogue."""
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    release_id = release_for(session).id
    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        found = spelling.near_numbers(session, "147459413", release_id=release_id)
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert [n.number for n in found] == ["1-474-594-12", "1-474-594-11"]
    assert len(statements) == 1
    assert " IN " in statements[0].upper()


def test_number_edits() -> None:
    edits = spelling.number_edits("A12")
    assert edits["A13"] == "digit"
    assert edits["B12"] == "letter"
    assert edits["AI2"] == "digit"  # the 1 typed is an I: they look alike
    assert edits["1A2"] == "swap"
    assert edits["A1"] == "extra"
    assert edits["A120"] == "missing"
    assert "A12" not in edits
    assert len(spelling.number_edits("147459411")) < 500  # one IN, not a scan


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("suply", "supply", 1), ("pwoer", "power", 1), ("mane", "main", 2), ("abc", "xyzw", 3)],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert spelling.edit_distance(a, b) == distance


# --- words ---------------------------------------------------------------------------------------


def test_words_misspelt_beside_a_model_number(session: Session, store: IndexStore) -> None:
    results = ask(session, store, "power suply kdl-55w800c")
    assert results.hits == []
    assert offered(results) == [("power supply kdl-55w800c", "spelling")]
    assert results.did_you_mean == "power supply kdl-55w800c"
    # What it finds: the power board fitted to that model, through the synonym list.
    assert [h.key for h in ask(session, store, results.did_you_mean).hits] == ["1-474-594-11"]
    assert results.suggestions[0].found == 1


def test_a_model_number_misspelt_beside_words(session: Session, store: IndexStore) -> None:
    results = ask(session, store, "power board kdl-55w80c")
    # The words alone find power boards of every model, and say the number was left out...
    assert results.ignored == ["kdl-55w80c"]
    # ... and the model meant is offered.
    assert offered(results) == [("power board KDL-55W800C", "model")]
    suggestion = results.suggestions[0]
    assert (suggestion.kind, suggestion.key, suggestion.title) == (
        "model",
        "KDL-55W800C",
        "Bravia 55W800C",
    )


def test_words_and_a_model_number_both_misspelt(session: Session, store: IndexStore) -> None:
    assert offered(ask(session, store, "batery ilce 7m4")) == [
        ("battery ILCE-7M3", "spelling_and_model")
    ]


def test_only_a_correction_that_finds_something_is_offered(
    session: Session, store: IndexStore
) -> None:
    assert ask(session, store, "mane").did_you_mean == "main"  # two edits, still offered
    assert ask(session, store, "xyzzy").suggestions == []
    # "flash" is one edit from nothing the catalogue holds; "camera" is a product line.
    assert ask(session, store, "camera flash").suggestions == []
    # Found as typed: nothing to suggest.
    assert ask(session, store, "power board").suggestions == []
