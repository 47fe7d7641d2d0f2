"""Release import: applies whole, or reports every problem and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, update
from sqlalchemy.orm import Session

from parts_catalog.errors import InvalidRelease
from parts_catalog.importer import import_release
from parts_catalog.models import (
    FitmentVersion,
    PartVersion,
    Release,
    StockLevel,
    SupersessionVersion,
)
from parts_catalog.services import release_for, resolve_number
from tests.parts_catalog.releases import (
    BASE_FITMENTS,
    BASE_PARTS,
    BASE_SUPERSESSIONS,
    base_release,
    part,
    write_release,
    zip_release,
)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def nothing_stored(session: Session) -> bool:
    return count(session, Release) == 0 and count(session, PartVersion) == 0


def problems_of(session: Session, path: Path, label: str = "2026.1") -> list[str]:
    with pytest.raises(InvalidRelease) as caught:
        import_release(session, path=path, label=label)
    return [str(p) for p in caught.value.problems]


def test_a_valid_release_is_imported(session: Session, tmp_path: Path) -> None:
    report = import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
    assert report.rows == {
        "parts.csv": 5,
        "models.csv": 2,
        "fitments.csv": 3,
        "supersessions.csv": 1,
    }
    assert report.changes["parts.csv"].added == 5
    assert "Imported release 2026.1" in report.summary_line()
    release = release_for(session)
    assert release.label == "2026.1"
    assert release.summary["parts_added"] == 5
    assert session.get(StockLevel, "147459411").quantity == 7
    assert (
        resolve_number(session, "1474594-11", release=release).result[0].part_number
        == "1-474-594-12"
    )


def test_a_zip_imports_like_a_directory(session: Session, tmp_path: Path) -> None:
    archive = zip_release(base_release(tmp_path / "r1"), tmp_path / "r1.zip")
    assert import_release(session, path=archive, label="zip").rows["parts.csv"] == 5


def test_dry_run_validates_and_stores_nothing(session: Session, tmp_path: Path) -> None:
    report = import_release(session, path=base_release(tmp_path / "r1"), label="dry", dry_run=True)
    assert report.summary_line().startswith("Valid; would import release dry")
    assert nothing_stored(session)


def test_a_first_release_builds_the_indexes_it_dropped(session: Session, tmp_path: Path) -> None:
    """A first release loads empty tables without their indexes and builds them after; a dry
    run (rolled back like a refused import) leaves them as they were."""

    def indexes() -> dict[str, set[str]]:
        inspector = inspect(session.connection())
        return {
            model.__tablename__: {
                ix["name"] or "" for ix in inspector.get_indexes(model.__tablename__)
            }
            for model in (PartVersion, FitmentVersion, SupersessionVersion)
        }

    before = indexes()
    assert all(before.values())
    import_release(session, path=base_release(tmp_path / "r1"), label="dry", dry_run=True)
    assert indexes() == before
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    assert indexes() == before
    assert count(session, FitmentVersion) == 3


def test_second_release_writes_only_what_changed(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    versions_before = count(session, PartVersion)
    parts = [dict(p) for p in BASE_PARTS if p["part_number"] != "4-234-704-11"]
    parts[2]["unit_price"] = "125.00"  # A-2072-533-A
    parts.append(part("1-480-001-11", "WIRELESS LAN MODULE", category="module"))
    report = import_release(
        session, path=base_release(tmp_path / "r2", parts=parts), label="r2", allow_drops=True
    )
    change = report.changes["parts.csv"]
    assert (change.added, change.removed, change.changed) == (1, 1, 1)
    # One new version for the changed part and one for the new part; nothing else rewritten.
    assert count(session, PartVersion) == versions_before + 2
    assert report.changes["supersessions.csv"].added == 0


def test_as_of_an_earlier_release(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1", supersessions=[]), label="r1")
    import_release(session, path=base_release(tmp_path / "r2"), label="r2")
    r1, r2 = release_for(session, "r1"), release_for(session, "r2")
    assert resolve_number(session, "1-474-594-11", release=r1).outcome == "current"
    assert resolve_number(session, "1-474-594-11", release=r2).outcome == "superseded"


def test_an_absent_optional_file_carries_the_previous_rows_over(
    session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    report = import_release(
        session, path=base_release(tmp_path / "r2", supersessions=None), label="r2"
    )
    assert report.carried_over == ["supersessions.csv"]
    r2 = release_for(session, "r2")
    assert resolve_number(session, "1-474-594-11", release=r2).outcome == "superseded"


def test_a_dropped_part_stays_resolvable_through_history(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    parts = [p for p in BASE_PARTS if p["part_number"] != "1-474-594-11"]
    fitments: list[dict[str, object]] = []
    import_release(
        session,
        path=base_release(tmp_path / "r2", parts=parts, fitments=fitments),
        label="r2",
        allow_drops=True,  # one part of five: more than the share delisted unconfirmed
    )
    result = resolve_number(session, "1-474-594-11", release=release_for(session))
    assert result.known is True
    assert result.result[0].part_number == "1-474-594-12"


def test_duplicate_label_is_refused(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
    problems = problems_of(session, base_release(tmp_path / "r2"), label="2026.1")
    assert problems == ["a release labelled '2026.1' exists already; labels are for ever"]
    assert count(session, Release) == 1


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"fitments": [{"model_number": "KDL-55W800C", "part_number": "9-999-999-99"}]},
            "fitments.csv:2 [part_number]: part 9-999-999-99 is not in this release or an "
            "earlier one",
            id="unknown part in fitments",
        ),
        pytest.param(
            {"fitments": [{"model_number": "XBR-1", "part_number": "1-474-594-11"}]},
            "fitments.csv:2 [model_number]: model XBR-1 is not in this release or an earlier one",
            id="unknown model in fitments",
        ),
        pytest.param(
            {"supersessions": [{"old_part_number": "1-474-594-11", "new_part_number": "X-1"}]},
            "supersessions.csv:2 [new_part_number]: part X-1 is not in this release or an "
            "earlier one",
            id="unknown part in supersessions",
        ),
        pytest.param(
            {
                "fitments": [
                    *BASE_FITMENTS,
                    # The same key as the first (no ref_no, diagram or serials: NULLs match).
                    {"model_number": "KDL-55W800C", "part_number": "4-234-704-01"},
                    {"model_number": "KDL-55W800C", "part_number": "4-234-704-01", "quantity": 2},
                ]
            },
            "fitments.csv:6 [part_number]: repeats the fitment on line 5",
            id="fitment repeated, its key partly empty",
        ),
        pytest.param(
            {"parts": [*BASE_PARTS, part("1474594 11", "ANOTHER")]},
            "parts.csv:7 [part_number]: the same part as line 2 (numbers match once spaces, "
            "dashes, dots and slashes are ignored)",
            id="duplicate normal form",
        ),
        pytest.param(
            {
                "supersessions": [
                    {"old_part_number": "1-474-594-11", "new_part_number": "1-474-594-12"},
                    {"old_part_number": "1-474-594-12", "new_part_number": "A-2072-533-A"},
                    {"old_part_number": "A-2072-533-A", "new_part_number": "1-474-594-11"},
                ]
            },
            "supersessions.csv:2: supersessions form a cycle: 1-474-594-11 → 1-474-594-12 → "
            "A-2072-533-A → 1-474-594-11",
            id="cycle",
        ),
        pytest.param(
            {
                "fitments": [
                    {"model_number": "KDL-55W800C", "part_number": "1-474-594-11", "quantity": "0"}
                ]
            },
            "fitments.csv:2 [quantity]: '0' is not a whole number of at least 1",
            id="bad quantity",
        ),
        pytest.param(
            {"parts": [part("1-1", status="gone")]},
            "parts.csv:2 [status]: 'gone' is not one of active, discontinued, nla",
            id="bad status",
        ),
        pytest.param(
            {"parts": [part("1-1", unit_price="cheap")]},
            "parts.csv:2 [unit_price]: 'cheap' is not a number",
            id="bad price",
        ),
        pytest.param(
            {
                "supersessions": [
                    {
                        "old_part_number": "1-474-594-11",
                        "new_part_number": "1-474-594-12",
                        "interchangeability": "conditional",
                    }
                ]
            },
            "supersessions.csv:2 [note]: a conditional supersession needs a note saying under "
            "what condition",
            id="conditional without note",
        ),
        pytest.param(
            {"parts": [part("", "NO NUMBER")]},
            "parts.csv:2 [part_number]: is required",
            id="missing number",
        ),
        pytest.param(
            {
                "fitments": [
                    {
                        "model_number": "KDL-55W800C",
                        "part_number": "1-474-594-11",
                        "serial_from": "500",
                        "serial_to": "40",
                    }
                ]
            },
            "fitments.csv:2 [serial_to]: 40 comes before serial_from 500",
            id="serial range backwards",
        ),
    ],
)
def test_bad_release_is_reported_and_nothing_changes(
    session: Session, tmp_path: Path, files: dict, expected: str
) -> None:
    problems = problems_of(session, base_release(tmp_path / "bad", **files))
    assert expected in problems
    assert nothing_stored(session)


def test_every_problem_is_reported_at_once(session: Session, tmp_path: Path) -> None:
    folder = base_release(
        tmp_path / "bad",
        parts=[*BASE_PARTS, part("1-1", status="gone"), part("2-2", unit_price="x")],
        fitments=[{"model_number": "KDL-55W800C", "part_number": "1-474-594-11", "quantity": "-1"}],
    )
    assert len(problems_of(session, folder)) == 3


def test_malformed_csv(session: Session, tmp_path: Path) -> None:
    folder = base_release(tmp_path / "bad")
    with open(folder / "models.csv", "a", encoding="utf-8") as handle:
        handle.write('"KDL-1,"unclosed\n')
    problems = problems_of(session, folder)
    assert any(p.startswith("models.csv:4: is not well-formed CSV") for p in problems), problems
    assert nothing_stored(session)


def test_wrong_encoding_names_the_line(session: Session, tmp_path: Path) -> None:
    folder = base_release(tmp_path / "bad")
    with open(folder / "parts.csv", "ab") as handle:
        handle.write("9-9,CÂBLE\n".encode("latin-1"))
    assert "parts.csv:7: is not valid UTF-8 text; save the file as UTF-8" in problems_of(
        session, folder
    )


def test_wrong_field_count_and_unknown_column(session: Session, tmp_path: Path) -> None:
    folder = base_release(tmp_path / "bad")
    with open(folder / "parts.csv", "a", encoding="utf-8") as handle:
        handle.write("1-2,TWO,FIELDS,TOO,MANY,FOR,THE,HEADER,NINE\n")
    (folder / "models.csv").write_text("model_number,colour\nKDL-1,red\n", encoding="utf-8")
    problems = problems_of(session, folder)
    assert "parts.csv:7: has 9 fields, the header has 8" in problems
    assert any(p.startswith("models.csv:1 [colour]: unknown column") for p in problems)


def test_missing_parts_file_and_stray_files(session: Session, tmp_path: Path) -> None:
    folder = write_release(tmp_path / "bad", models=[{"model_number": "KDL-1"}])
    (folder / "prices.csv").write_text("x\n", encoding="utf-8")
    problems = problems_of(session, folder)
    assert "parts.csv: is missing: every release needs it" in problems
    assert any(p.startswith("prices.csv: is not a release file") for p in problems)


def test_a_path_that_is_not_a_release(session: Session, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    assert any(
        "neither a directory nor a .zip" in p for p in problems_of(session, tmp_path / "notes.txt")
    )
    assert any("does not exist" in p for p in problems_of(session, tmp_path / "nowhere"))


def test_supersession_rows_are_versioned_not_copied(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    import_release(session, path=base_release(tmp_path / "r2"), label="r2")
    assert count(session, SupersessionVersion) == 1


def test_a_changed_row_repeating_an_unchanged_one_is_reported(
    session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    parts = [*BASE_PARTS, part("1474594 11", "SAME PART, OTHER SPELLING")]
    problems = problems_of(session, base_release(tmp_path / "r2", parts=parts), label="r2")
    assert problems == [
        "parts.csv:7 [part_number]: the same part as another line of this file (numbers match "
        "once spaces, dashes, dots and slashes are ignored)"
    ]


def test_an_identical_line_twice_is_reported(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    problems = problems_of(
        session, base_release(tmp_path / "r2", parts=[*BASE_PARTS, BASE_PARTS[0]]), label="r2"
    )
    assert len(problems) == 1
    assert problems[0].startswith("parts.csv:7 [part_number]: the same part as")


def test_spacing_alone_makes_no_new_version(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    before = count(session, PartVersion)
    parts = [dict(p) for p in BASE_PARTS]
    parts[2]["description"] = "  MAIN BOARD  "
    report = import_release(session, path=base_release(tmp_path / "r2", parts=parts), label="r2")
    assert report.changes["parts.csv"].changed == 0
    assert count(session, PartVersion) == before


def test_a_release_never_overwrites_live_stock(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    session.get(StockLevel, "147459411").quantity = 2  # reserved by orders since
    parts = [dict(p) for p in BASE_PARTS]
    parts[0]["stock_qty"] = "50"
    report = import_release(session, path=base_release(tmp_path / "r2", parts=parts), label="r2")
    assert session.get(StockLevel, "147459411").quantity == 2
    # Stock is not versioned: a row differing only there repeats its version.
    assert report.changes["parts.csv"].changed == 0


def test_quoted_fields_with_commas_and_newlines(session: Session, tmp_path: Path) -> None:
    parts = [*BASE_PARTS, part("9-100-200-11", 'CABLE, "FLAT"\nSECOND LINE')]
    import_release(session, path=base_release(tmp_path / "r1", parts=parts), label="r1")
    stored = session.scalars(
        select(PartVersion.description).where(PartVersion.number_norm == "910020011")
    ).one()
    assert stored == 'CABLE, "FLAT"\nSECOND LINE'
    report = import_release(session, path=base_release(tmp_path / "r2", parts=parts), label="r2")
    assert report.changes["parts.csv"].changed == 0
    assert report.changes["parts.csv"].added == 0


def test_a_problem_after_a_quoted_line_names_the_right_line(
    session: Session, tmp_path: Path
) -> None:
    parts = [part("9-1", "TWO\nLINES"), part("9-2", status="bad")]
    problems = problems_of(
        session, base_release(tmp_path / "r1", parts=parts, fitments=[], supersessions=[])
    )
    assert problems == ["parts.csv:4 [status]: 'bad' is not one of active, discontinued, nla"]


def test_a_cycle_closed_by_a_new_row_through_unchanged_ones(
    session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")  # -11 → -12
    cycle = [
        *BASE_SUPERSESSIONS,
        {"old_part_number": "1-474-594-12", "new_part_number": "1-474-594-11"},
    ]
    problems = problems_of(session, base_release(tmp_path / "r2", supersessions=cycle), label="r2")
    assert problems == [
        "supersessions.csv:3: supersessions form a cycle: 1-474-594-12 → 1-474-594-11 → "
        "1-474-594-12"
    ]


def test_versions_without_a_digest_are_still_replaced_and_dropped(
    session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    # As if imported before digests were kept.
    session.execute(update(PartVersion).values(row_digest=None))
    parts = [dict(p) for p in BASE_PARTS if p["part_number"] != "4-234-704-11"]
    parts[2]["unit_price"] = "125.00"
    report = import_release(
        session, path=base_release(tmp_path / "r2", parts=parts), label="r2", allow_drops=True
    )
    change = report.changes["parts.csv"]
    assert (change.added, change.removed, change.changed) == (0, 1, 1)
    assert count(session, PartVersion) == len(BASE_PARTS) + 1


def test_serial_and_quantity_digits_must_be_plain(session: Session, tmp_path: Path) -> None:
    folder = base_release(
        tmp_path / "bad",
        fitments=[
            {
                "model_number": "KDL-55W800C",
                "part_number": "1-474-594-11",
                "quantity": "²",
                "serial_from": "²",
                "serial_to": "5",
            },
        ],
    )
    problems = problems_of(session, folder)
    assert "fitments.csv:2 [quantity]: '²' is not a whole number of at least 1" in problems


def test_a_short_row_is_never_taken_for_a_repeat(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    folder = base_release(tmp_path / "r2")
    with open(folder / "parts.csv", "a", encoding="utf-8") as handle:
        handle.write("1-474-594-12,POWER BOARD (GL2A)\n")
    assert "parts.csv:7: has 2 fields, the header has 8" in problems_of(session, folder, label="r2")


def test_every_malformed_record_is_reported(session: Session, tmp_path: Path) -> None:
    folder = base_release(tmp_path / "bad")
    with open(folder / "models.csv", "a", encoding="utf-8") as handle:
        handle.write('KDL-1,"bad"x\nKDL-2,fine\nKDL-3,"also"bad\n')
    problems = problems_of(session, folder)
    assert [p for p in problems if "well-formed" in p] == [
        "models.csv:4: is not well-formed CSV: ',' expected after '\"'",
        "models.csv:6: is not well-formed CSV: ',' expected after '\"'",
    ]
