"""A release exported and imported again changes nothing; exported cells never start a formula."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parts_catalog import demo
from parts_catalog.importer import import_release
from parts_catalog.models import (
    DiagramVersion,
    DrawingFile,
    FitmentVersion,
    HotspotVersion,
    ModelVersion,
    PartVersion,
    SupersessionVersion,
)
from parts_catalog.release_export import export_release
from parts_catalog.release_files import SPECS, escape_cell, unescape_cell
from parts_catalog.services import diff_releases, get_part, release_for
from tests.parts_catalog.releases import BASE_PARTS, base_release, part
from tests.properties.budget import PURE

VERSIONED = (
    PartVersion,
    ModelVersion,
    FitmentVersion,
    SupersessionVersion,
    DiagramVersion,
    HotspotVersion,
    DrawingFile,
)


def versions(session: Session) -> dict[str, int]:
    return {
        m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in VERSIONED
    }


def test_the_demo_release_exported_re_imports_to_no_change(
    session: Session, tmp_path: Path
) -> None:
    demo.load(session, tmp_path / "demo")
    newest = release_for(session)
    written = export_release(session, release=newest, folder=tmp_path / "out")
    drawings = {row["file"] for row in demo.build()[1].diagrams}
    assert {p.name for p in (tmp_path / "out").iterdir()} == {s.name for s in SPECS} | drawings
    assert written["diagrams.csv"] == len(drawings) > 0
    assert written["parts.csv"] > 0
    before = versions(session)
    report = import_release(session, path=tmp_path / "out", label="again")
    assert {name: vars(c) for name, c in report.changes.items()} == {
        s.name: {"added": 0, "removed": 0, "changed": 0} for s in SPECS
    }
    assert versions(session) == before
    diff = diff_releases(session, newest, release_for(session, "again"))
    assert diff.counts == {"added": 0, "removed": 0, "changed": 0, "newly_superseded": 0}


def test_an_older_release_exports_as_of_itself(session: Session, tmp_path: Path) -> None:
    demo.load(session, tmp_path / "demo")
    first, newest = demo.FIRST, release_for(session)
    export_release(session, release=release_for(session, first), folder=tmp_path / "first")
    report = import_release(session, path=tmp_path / "first", label="back", allow_drops=True)
    diff = diff_releases(session, release_for(session, first), release_for(session, "back"))
    assert diff.counts == {"added": 0, "removed": 0, "changed": 0, "newly_superseded": 0}
    assert report.release_id is not None
    assert newest.id < report.release_id


FORMULAS = ["=1+2", "+SUM(A1)", "-5 V REGULATOR", "@cmd", "'=already quoted", "''-two"]


def test_formula_text_is_escaped_and_read_back_the_same(session: Session, tmp_path: Path) -> None:
    parts = [*BASE_PARTS, *(part(f"8-{n}", text) for n, text in enumerate(FORMULAS))]
    parts[0] = {**parts[0], "category": '=HYPERLINK("http://x")'}
    import_release(session, path=base_release(tmp_path / "r1", parts=parts), label="r1")
    export_release(session, release=release_for(session), folder=tmp_path / "out")
    with open(tmp_path / "out" / "parts.csv", encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    import_release(session, path=tmp_path / "out", label="r2")
    first, again = release_for(session, "r1"), release_for(session, "r2")
    for n, text in enumerate(FORMULAS):
        # An apostrophe before a formula is the escape, also in a file from elsewhere.
        stored = get_part(session, f"8-{n}", release=first).description
        assert stored == (text[1:] if text.startswith("'") else text)
        assert get_part(session, f"8-{n}", release=again).description == stored
    assert versions(session)["catalog_part_versions"] == len(parts)


@PURE
@given(st.text())
@example("=1")
@example("'=1")
@example("'")
@example("''")
def test_escaping_is_undone_exactly_and_never_leaves_a_formula(text: str) -> None:
    escaped = escape_cell(text)
    assert unescape_cell(escaped) == text
    assert escaped[:1] not in ("=", "+", "-", "@", "\t", "\r")
