"""A release is a full snapshot or a delta.

A snapshot of three parts once reported "parts +3 -2,909": it would have delisted the whole
catalogue. A snapshot that delists more than a share of the listed parts now needs confirming;
a delta changes only the rows it names, and drops a row with ``action=drop``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from parts_catalog.errors import InvalidRelease, TooManyDrops
from parts_catalog.importer import _Likely, import_release
from parts_catalog.models import (
    DELTA,
    SNAPSHOT,
    FitmentVersion,
    PartVersion,
    Release,
    SearchChange,
    SupersessionVersion,
)
from parts_catalog.services import diff_releases, get_part, release_for, resolve_number, where_used
from tests.parts_catalog.releases import (
    BASE_FITMENTS,
    BASE_PARTS,
    BASE_SUPERSESSIONS,
    base_release,
    part,
    write_release,
)

MANY = [*BASE_PARTS, *(part(f"7-{n:03}", f"SCREW {n}") for n in range(95))]  # 100 parts


def listed(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(PartVersion).where(PartVersion.valid_to.is_(None))
        )
        or 0
    )


def releases(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Release)) or 0


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> Release:
    import_release(session, path=base_release(tmp_path / "r1", parts=MANY), label="r1")
    return release_for(session, "r1")


def three_parts(folder: Path) -> Path:
    parts = [
        {**BASE_PARTS[2], "unit_price": "125.00"},  # A-2072-533-A costs more
        part("1-480-001-11", "WIRELESS LAN MODULE"),
        part("1-480-002-11", "BLUETOOTH MODULE"),
    ]
    return write_release(folder, parts=parts)


# --- snapshots that delist too much ----------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_a_snapshot_that_would_delist_the_catalogue_is_refused(
    session: Session, tmp_path: Path
) -> None:
    for dry_run in (True, False):
        with pytest.raises(TooManyDrops) as caught:
            import_release(session, path=three_parts(tmp_path / "r2"), label="r2", dry_run=dry_run)
        assert (caught.value.dropping, caught.value.listed) == (99, 100)
        assert [str(p) for p in caught.value.problems] == [
            "parts.csv: would delist 99 of the 100 parts listed now (99%; more than 5% "
            "needs confirming). A release that changes only some parts is a delta."
        ]
    assert releases(session) == 1
    assert listed(session) == 100


@pytest.mark.usefixtures("catalogue")
def test_a_confirmed_snapshot_delists_them(session: Session, tmp_path: Path) -> None:
    folder = three_parts(tmp_path / "r2")
    with pytest.raises(TooManyDrops):  # confirmed for fewer than it would delist
        import_release(session, path=folder, label="r2", allow_drops=98)
    report = import_release(session, path=folder, label="r2", allow_drops=99)
    assert report.kind == SNAPSHOT
    assert report.summary_line().endswith("parts +2 -99 ~1.")
    assert listed(session) == 3


@pytest.mark.usefixtures("catalogue")
def test_a_snapshot_within_the_share_needs_no_confirmation(
    session: Session, tmp_path: Path
) -> None:
    report = import_release(
        session, path=base_release(tmp_path / "r2", parts=MANY[:95]), label="r2"
    )
    assert report.changes["parts.csv"].removed == 5
    with pytest.raises(TooManyDrops):
        import_release(
            session,
            path=base_release(tmp_path / "r3", parts=MANY[:94]),
            label="r3",
            max_drop_share=0.0,
        )


def test_the_first_release_delists_nothing(session: Session, tmp_path: Path) -> None:
    assert import_release(session, path=three_parts(tmp_path / "r1"), label="r1").rows


# --- deltas --------------------------------------------------------------------------------------


def test_a_delta_changes_only_the_rows_it_names(
    session: Session, tmp_path: Path, catalogue: Release
) -> None:
    report = import_release(session, path=three_parts(tmp_path / "d"), label="d", kind=DELTA)
    assert report.summary_line() == ("Imported release d (delta): 3 parts; parts +2 -0 ~1.")
    assert report.carried_over == ["models.csv", "fitments.csv", "supersessions.csv"]
    assert listed(session) == 102
    delta = release_for(session, "d")
    assert delta.kind == DELTA
    assert delta.summary["parts_listed"] == 102
    assert get_part(session, "A-2072-533-A", release=delta).unit_price == 125
    assert len(where_used(session, "1-474-594-11", release=delta)) == 1
    assert resolve_number(session, "1-474-594-11", release=delta).outcome == "superseded"
    diff = diff_releases(session, catalogue, delta)
    assert diff.counts == {"added": 2, "removed": 0, "changed": 1, "newly_superseded": 0}
    # Only what changed goes to the search index.
    queued = set(
        session.scalars(
            select(SearchChange.doc_id).where(SearchChange.id > _last_change_before(session))
        )
    )
    assert queued == {"part:A2072533A", "part:148000111", "part:148000211"}


def _last_change_before(session: Session) -> int:
    """The last search change the first release queued."""
    delta_parts = ("part:A2072533A", "part:148000111", "part:148000211")
    return (
        session.scalar(
            select(func.max(SearchChange.id)).where(SearchChange.doc_id.not_in(delta_parts))
        )
        or 0
    )


@pytest.mark.usefixtures("catalogue")
def test_a_delta_drops_rows_named_with_action_drop(session: Session, tmp_path: Path) -> None:
    folder = write_release(tmp_path / "d", parts=[], fitments=[], supersessions=[])
    (folder / "parts.csv").write_text(
        "part_number,description,action\n4-234-704-11,,drop\n1-999-000-11,NEW RELAY,\n",
        encoding="utf-8",
    )
    (folder / "fitments.csv").write_text(
        "model_number,part_number,ref_no,diagram,action\n"
        "KDL-55W800C,A-2072-533-A,102,Main chassis,DROP\n",
        encoding="utf-8",
    )
    (folder / "supersessions.csv").write_text(
        "old_part_number,new_part_number,action\n1-474-594-11,1-474-594-12,drop\n",
        encoding="utf-8",
    )
    report = import_release(session, path=folder, label="d", kind=DELTA)
    changes = {name: (c.added, c.removed, c.changed) for name, c in report.changes.items()}
    assert changes == {
        "parts.csv": (1, 1, 0),
        "fitments.csv": (0, 1, 0),
        "supersessions.csv": (0, 1, 0),
    }
    delta = release_for(session, "d")
    dropped = get_part(session, "4-234-704-11", release=delta)
    assert (dropped.listed, dropped.last_listed_in) == (False, "r1")
    assert [f.ref_no for f in where_used(session, "A-2072-533-A", release=delta)] == []
    assert resolve_number(session, "1-474-594-11", release=delta).outcome == "current"
    # The earlier release still answers as it did.
    r1 = release_for(session, "r1")
    assert resolve_number(session, "1-474-594-11", release=r1).outcome == "superseded"
    assert session.scalar(select(func.count()).select_from(FitmentVersion)) == len(BASE_FITMENTS)
    assert session.scalar(select(func.count()).select_from(SupersessionVersion)) == len(
        BASE_SUPERSESSIONS
    )


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        pytest.param(
            "parts.csv",
            "part_number,description,action\n9-9-9,,drop\n",
            "parts.csv:2 [part_number]: part 9-9-9 is not listed: nothing to drop",
            id="drop an unknown part",
        ),
        pytest.param(
            "parts.csv",
            "part_number,description,action\n1-1,THING,delete\n",
            "parts.csv:2 [action]: 'delete' is not one of drop (or empty: add or change)",
            id="unknown action",
        ),
        pytest.param(
            "parts.csv",
            "part_number,description,action\n7-001,,drop\n7 001,SCREW,\n",
            "parts.csv:3 [part_number]: the same part as line 2 (numbers match once spaces, "
            "dashes, dots and slashes are ignored)",
            id="drop and change one part",
        ),
        pytest.param(
            "supersessions.csv",
            "old_part_number,new_part_number\n1-474-594-12,1-474-594-11\n",
            "supersessions.csv:2: supersessions form a cycle: 1-474-594-12 → 1-474-594-11 → "
            "1-474-594-12",
            id="cycle through an unchanged row",
        ),
        pytest.param(
            "fitments.csv",
            "model_number,part_number\nKDL-55W800C,5-5-5\n",
            "fitments.csv:2 [part_number]: part 5-5-5 is not in this release or an earlier one",
            id="unknown part",
        ),
        pytest.param(
            "fitments.csv",
            "model_number,part_number,ref_no,action\nKDL-55W800C,1-474-594-11,999,drop\n",
            "fitments.csv:2 [part_number]: fitment of 1-474-594-11 to KDL-55W800C (ref 999) is "
            "not listed: nothing to drop",
            id="drop a fitment that is not there",
        ),
    ],
)
def test_a_bad_delta_is_refused_and_changes_nothing(
    session: Session, tmp_path: Path, file: str, text: str, expected: str
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / file).write_text(text, encoding="utf-8")
    with pytest.raises(InvalidRelease) as caught:
        import_release(session, path=folder, label="d", kind=DELTA)
    assert expected in [str(p) for p in caught.value.problems]
    assert releases(session) == 1


def test_a_drop_is_for_deltas_only(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "parts.csv").write_text("part_number,description,action\n1-1,ONE,\n", "utf-8")
    with pytest.raises(InvalidRelease) as caught:
        import_release(session, path=folder, label="s")
    assert [str(p) for p in caught.value.problems] == [
        "parts.csv:1 [action]: only a delta release drops rows (import it as a delta)"
    ]


def test_a_delta_names_at_least_one_file(
    session: Session, tmp_path: Path, catalogue: Release
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidRelease) as caught:
        import_release(session, path=tmp_path / "empty", label="d", kind=DELTA)
    assert [str(p) for p in caught.value.problems] == [
        "A delta names at least one of parts.csv, models.csv, fitments.csv, supersessions.csv, "
        "diagrams.csv, hotspots.csv."
    ]


def test_a_delta_repeating_rows_unchanged_changes_only_the_others(
    session: Session, tmp_path: Path, catalogue: Release
) -> None:
    """A delta's rows are staged whole (no current digest is read for it): the rows it repeats
    unchanged, spacing aside, end no version and add none, and are not queued for search."""
    repeated = [
        BASE_PARTS[0],
        {**BASE_PARTS[1], "description": f"  {BASE_PARTS[1]['description']} "},
    ]
    folder = write_release(
        tmp_path / "d",
        parts=[*repeated, {**BASE_PARTS[2], "unit_price": "125.00"}],
        fitments=BASE_FITMENTS[:2],
        supersessions=BASE_SUPERSESSIONS[:1],
    )
    queued_before = session.scalar(select(func.max(SearchChange.id)))
    report = import_release(session, path=folder, label="d", kind=DELTA)
    assert report.summary_line().endswith("parts +0 -0 ~1.")
    assert report.changes["fitments.csv"].changed == 0
    assert report.changes["fitments.csv"].added == 0
    assert report.changes["supersessions.csv"].changed == 0
    delta = release_for(session, "d")
    assert (
        session.scalar(
            select(func.count())
            .select_from(PartVersion)
            .where((PartVersion.valid_from == delta.id) | (PartVersion.valid_to == delta.id))
        )
        == 2  # A-2072-533-A's old price ended, its new one began
    )
    ended = select(func.count()).where(FitmentVersion.valid_to == delta.id)
    assert session.scalar(ended) == 0
    assert session.scalar(select(func.count()).where(SupersessionVersion.valid_to == delta.id)) == 0
    queued = set(
        session.scalars(select(SearchChange.doc_id).where(SearchChange.id > queued_before))
    )
    assert queued == {"part:A2072533A"}


@pytest.mark.usefixtures("catalogue")
def test_a_delta_naming_a_row_unchanged_and_changed_is_refused(
    session: Session, tmp_path: Path
) -> None:
    folder = write_release(
        tmp_path / "d", parts=[BASE_PARTS[2], {**BASE_PARTS[2], "unit_price": "125.00"}]
    )
    with pytest.raises(InvalidRelease) as refused:
        import_release(session, path=folder, label="d", kind=DELTA)
    assert [str(p) for p in refused.value.problems] == [
        "parts.csv:3 [part_number]: the same part as line 2 (numbers match once spaces, "
        "dashes, dots and slashes are ignored)"
    ]
    assert releases(session) == 1


def test_the_planner_hint_of_a_delta_keeps_its_condition() -> None:
    """SQLite is told a delta's "current" condition holds for nearly every version; other
    databases get it as it is, and two conditions never share one compiled statement."""
    parts, fitments = (_Likely(m.valid_to.is_(None)) for m in (PartVersion, FitmentVersion))
    query = select(PartVersion.id).where(parts, PartVersion.id > 3)
    assert "WHERE likely(catalog_part_versions.valid_to IS NULL) AND" in str(
        query.compile(dialect=sqlite.dialect())
    )
    assert "WHERE (catalog_part_versions.valid_to IS NULL) AND" in str(
        query.compile(dialect=postgresql.dialect())
    )
    assert parts._generate_cache_key() != fitments._generate_cache_key()
