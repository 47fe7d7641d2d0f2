"""Part search: every spelling of a number, a number's family, words with typos and synonyms."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from parts_catalog.importer import import_release
from parts_catalog.search import create_index, index_parts, search_parts
from parts_catalog.services import release_for
from tests.parts_catalog.releases import BASE_PARTS, base_release, part

SYNONYMS = {"power supply": ["power board"], "wifi": ["wireless lan module"]}


@pytest.fixture
def index_dir(session: Session, tmp_path: Path) -> Path:
    parts = [*BASE_PARTS, part("1-480-001-11", "WIRELESS LAN MODULE", category="module")]
    import_release(session, path=base_release(tmp_path / "r1", parts=parts), label="r1")
    folder = tmp_path / "index"
    create_index(folder)
    assert index_parts(session, folder, release=release_for(session)) == len(parts)
    return folder


@pytest.mark.parametrize(
    "spelling", ["1-474-594-11", "147459411", "1474594-11", "1474 594 11", "1474594 11"]
)
def test_every_spelling_of_a_number_finds_its_part_first(index_dir: Path, spelling: str) -> None:
    hits = search_parts(index_dir, spelling)
    assert hits[0].key == "1-474-594-11"
    assert hits[0].why == "number"


def test_a_prefix_finds_the_family(index_dir: Path) -> None:
    keys = [h.key for h in search_parts(index_dir, "1474594")]
    assert set(keys[:2]) == {"1-474-594-11", "1-474-594-12"}
    assert search_parts(index_dir, "a2072")[0].key == "A-2072-533-A"


def test_words_are_stemmed_and_forgive_a_typo(index_dir: Path) -> None:
    assert {h.key for h in search_parts(index_dir, "pwoer boards")} == {
        "1-474-594-11",
        "1-474-594-12",
    }


def test_synonyms_reach_the_catalogues_words(index_dir: Path) -> None:
    assert search_parts(index_dir, "wifi", synonyms=SYNONYMS)[0].key == "1-480-001-11"
    assert search_parts(index_dir, "power supply", synonyms=SYNONYMS)[0].key.startswith("1-474-594")
    assert search_parts(index_dir, "wifi") == []


def test_nothing_relevant_finds_nothing(index_dir: Path) -> None:
    assert search_parts(index_dir, "camera flash") == []
