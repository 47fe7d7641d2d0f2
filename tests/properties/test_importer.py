"""Release import, by property: random valid releases apply and the catalogue answers what they
say, as of each release; random broken ones are refused, naming the file, and change nothing.

Each example runs in a savepoint of the test's transaction that is rolled back at its end, so
examples start from the same (empty) catalogue.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from parts_catalog.errors import InvalidRelease, UnknownModel, UnknownPart
from parts_catalog.importer import import_release
from parts_catalog.models import Release as ReleaseRecord
from parts_catalog.models import StockLevel
from parts_catalog.numbers import normalise
from parts_catalog.services import get_model, get_part, resolve_number, where_used
from parts_catalog.supersession import Edge, PartState, Resolution, resolve
from tests.properties.budget import BROKEN, DATABASE
from tests.properties.catalogue import (
    CORE,
    Pool,
    Release,
    State,
    expected_edge,
    expected_fitment,
    part_rows,
    pools,
    releases,
    serials,
    snapshot,
    spelling,
    states,
    with_rows,
)


@contextmanager
def scratch(session: Session) -> Iterator[Path]:
    """A savepoint rolled back afterwards, and a folder for the release files."""
    savepoint = session.begin_nested()
    try:
        with tempfile.TemporaryDirectory(prefix="release-") as folder:
            yield Path(folder)
    finally:
        savepoint.rollback()
        session.expire_all()


def release_record(session: Session, label: str) -> ReleaseRecord:
    return session.scalars(select(ReleaseRecord).where(ReleaseRecord.label == label)).one()


def comparable(resolution: Resolution) -> tuple[Any, ...]:
    """A resolution with its lists as sets: the order rows come back from the database in is
    not part of the contract."""
    return (
        resolution.requested,
        resolution.known,
        resolution.outcome,
        frozenset(resolution.chain),
        sorted(resolution.result, key=repr),
        sorted(resolution.notes),
        resolution.requires_confirmation,
    )


def expected_resolution(state: State, number: str, serial: str | None) -> Resolution:
    """The pure resolver over the state's plain rows: what the database-backed one must say."""
    spelled = {norm: part["number"] for norm, part in state.parts.items()}
    successors: dict[str, list[Edge]] = defaultdict(list)
    for row in state.supersessions:
        edge = expected_edge(row, spelled)
        successors[edge.old].append(edge)
    parts = {
        norm: PartState(
            number=part["number"],
            status=part["status"],
            listed=norm in state.listed,
            safety_critical=part["safety_critical"],
        )
        for norm, part in state.parts.items()
    }
    return resolve(number, successors=successors, parts=parts, serial=serial)


def assert_answers(session: Session, label: str, state: State, data: st.DataObject) -> None:
    """The catalogue as of ``label`` says what ``state`` says, whatever the spelling asked."""
    release = release_record(session, label)
    for norm, want in state.parts.items():
        info = get_part(session, data.draw(spelling(norm)), release=release)
        got = {key: getattr(info, key) for key in want}
        assert got == want, (label, norm)
        assert info.listed == (norm in state.listed), (label, norm)
    for norm, want in state.models.items():
        model = get_model(session, data.draw(spelling(norm)), release=release)
        assert {key: getattr(model, key) for key in want} == want, (label, norm)
        assert model.listed == (norm in state.models_listed), (label, norm)
    for norm in state.listed:
        used = where_used(session, data.draw(spelling(norm)), release=release)
        got_fitments = sorted(
            (
                (
                    normalise(f.model_number),
                    f.ref_no,
                    f.diagram,
                    f.quantity,
                    f.serial_from,
                    f.serial_to,
                )
                for f in used
            ),
            key=repr,
        )
        want_fitments = sorted(
            (
                expected_fitment(row)
                for row in state.fitments
                if normalise(row["part_number"]) == norm
            ),
            key=repr,
        )
        assert got_fitments == want_fitments, (label, norm)
    for norm in state.parts:
        asked = data.draw(spelling(norm))
        serial = data.draw(st.none() | serials)
        got = resolve_number(session, asked, release=release, serial=serial)
        assert comparable(got) == comparable(expected_resolution(state, asked, serial)), (
            label,
            norm,
            serial,
        )
    # A number no release named is unknown, in any spelling.
    stranger = data.draw(CORE.filter(lambda n: n not in state.parts and n not in state.models))
    assert resolve_number(session, stranger, release=release).outcome == "unknown"
    with pytest.raises(UnknownPart):
        get_part(session, stranger, release=release)
    with pytest.raises(UnknownModel):
        get_model(session, stranger, release=release)


@DATABASE
@given(pools().flatmap(lambda pool: st.tuples(st.just(pool), releases(pool))), st.data())
def test_a_valid_release_applies_whole(
    session: Session, generated: tuple[Pool, Release], data: st.DataObject
) -> None:
    _pool, release = generated
    with scratch(session) as folder:
        report = import_release(session, path=release.write(folder / "r1"), label="r1")
        assert report.rows == {
            f"{name}.csv": len(rows) for name, rows in release.files().items() if rows is not None
        }
        assert report.changes["parts.csv"].added == len(release.parts)
        assert report.changes["parts.csv"].removed == report.changes["parts.csv"].changed == 0
        assert_answers(session, "r1", states([release])[0], data)
        # Stock starts from the first release that names the part.
        for row in release.parts:
            level = session.get(StockLevel, normalise(row["part_number"]))
            assert (level.quantity if level else None) == (
                int(row["stock_qty"]) if row["stock_qty"] else None
            )


@st.composite
def histories(draw: st.DrawFn) -> tuple[Pool, Release, Release]:
    pool = draw(pools())
    first = draw(releases(pool))
    known_models = [normalise(r["model_number"]) for r in first.models or []]
    known_parts = [normalise(r["part_number"]) for r in first.parts]
    second = draw(releases(pool, known_parts=known_parts, known_models=known_models))
    return pool, first, second


@DATABASE
@given(histories(), st.data())
def test_releases_are_kept_and_each_answers_as_of_itself(
    session: Session, generated: tuple[Pool, Release, Release], data: st.DataObject
) -> None:
    _pool, first, second = generated
    with scratch(session) as folder:
        import_release(session, path=first.write(folder / "r1"), label="r1")
        # A random second snapshot may delist any share of the parts: that is confirmed here.
        report = import_release(
            session, path=second.write(folder / "r2"), label="r2", allow_drops=True
        )
        assert report.carried_over == [
            f"{name}.csv" for name, rows in second.files().items() if rows is None
        ]
        as_of_first, as_of_second = states([first, second])
        assert_answers(session, "r2", as_of_second, data)
        assert_answers(session, "r1", as_of_first, data)  # unchanged by the newer release


@DATABASE
@given(pools().flatmap(lambda pool: st.tuples(st.just(pool), releases(pool))))
def test_a_dry_run_reports_the_same_and_stores_nothing(
    session: Session, generated: tuple[Pool, Release]
) -> None:
    _pool, release = generated
    with scratch(session) as folder:
        path = release.write(folder / "r1")
        before = snapshot(session.connection())
        dry = import_release(session, path=path, label="r1", dry_run=True)
        assert snapshot(session.connection()) == before
        real = import_release(session, path=path, label="r1")
        assert (dry.rows, dry.changes, dry.carried_over) == (
            real.rows,
            real.changes,
            real.carried_over,
        )


# --- broken releases -----------------------------------------------------------------------------

#: ``(release, draw) -> (broken release, the file a problem must name)``. Each adds or changes
#: rows of a valid release so that the contract refuses it.
Breakage = Callable[[Release, "Context"], tuple[Release, str]]


class Context:
    """What a breakage may draw from: the pool, the numbers earlier releases named."""

    def __init__(self, data: st.DataObject, pool: Pool, parts: list[str], models: list[str]):
        self.data = data
        self.pool = pool
        self.known_parts = parts
        self.known_models = models

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(strategy)

    def stranger(self) -> str:
        """A number no release names."""
        return self.draw(CORE.filter(lambda n: n not in self.pool.parts + self.pool.models))

    def part_of(self, release: Release) -> str:
        return self.draw(st.sampled_from([normalise(r["part_number"]) for r in release.parts]))

    def model_of(self, release: Release) -> tuple[Release, str]:
        """A model the release may name, adding one to it when there is none."""
        models = [normalise(r["model_number"]) for r in release.models or []]
        if release.models is None:
            models += self.known_models
        if models:
            return release, self.draw(st.sampled_from(models))
        norm = self.stranger()
        return with_rows(release, models=[*(release.models or []), {"model_number": norm}]), norm


def _fitment(model: str, part: str, **extra: str) -> dict[str, str]:
    return {"model_number": model, "part_number": part, **extra}


def _supersession(old: str, new: str, **extra: str) -> dict[str, str]:
    return {"old_part_number": old, "new_part_number": new, **extra}


def _add(release: Release, file: str, *rows: dict[str, str]) -> Release:
    return with_rows(release, **{file: [*(getattr(release, file) or []), *rows]})


def dangling_supersession(release: Release, c: Context) -> tuple[Release, str]:
    part, stranger = c.part_of(release), c.stranger()
    old, new = (part, stranger) if c.draw(st.booleans()) else (stranger, part)
    return _add(release, "supersessions", _supersession(old, new)), "supersessions.csv"


def dangling_fitment_part(release: Release, c: Context) -> tuple[Release, str]:
    release, model = c.model_of(release)
    return _add(release, "fitments", _fitment(model, c.stranger())), "fitments.csv"


def dangling_fitment_model(release: Release, c: Context) -> tuple[Release, str]:
    return _add(release, "fitments", _fitment(c.stranger(), c.part_of(release))), "fitments.csv"


def duplicate_part(release: Release, c: Context) -> tuple[Release, str]:
    twin = c.draw(part_rows(c.part_of(release)))  # another spelling, other values
    return _add(release, "parts", twin), "parts.csv"


def duplicate_model(release: Release, c: Context) -> tuple[Release, str]:
    norm = c.stranger()
    rows = [{"model_number": c.draw(spelling(norm)), "name": n} for n in ("ONE", "TWO")]
    return _add(release, "models", *rows), "models.csv"


def duplicate_fitment(release: Release, c: Context) -> tuple[Release, str]:
    release, model = c.model_of(release)
    part = c.part_of(release)
    rows = [_fitment(c.draw(spelling(model)), c.draw(spelling(part)), ref_no="7") for _ in "ab"]
    return _add(release, "fitments", *rows), "fitments.csv"


def duplicate_supersession(release: Release, c: Context) -> tuple[Release, str]:
    old, new = _ordered_pair(release, c)
    rows = [_supersession(c.draw(spelling(old)), c.draw(spelling(new))) for _ in "ab"]
    return _add(release, "supersessions", *rows), "supersessions.csv"


def cycle(release: Release, c: Context) -> tuple[Release, str]:
    """A loop of two or more supersessions, or a part replacing itself."""
    parts = sorted({normalise(r["part_number"]) for r in release.parts} | set(c.known_parts))
    loop = c.draw(st.lists(st.sampled_from(parts), min_size=1, max_size=4, unique=True))
    rows = [
        _supersession(c.draw(spelling(a)), c.draw(spelling(b)))
        for a, b in zip(loop, [*loop[1:], loop[0]], strict=True)
    ]
    return _add(release, "supersessions", *rows), "supersessions.csv"


def _ordered_pair(release: Release, c: Context) -> tuple[str, str]:
    """Two parts the release may name, in rank order (so adding old → new makes no cycle)."""
    parts = sorted({normalise(r["part_number"]) for r in release.parts} | set(c.known_parts))
    if len(parts) < 2:
        return parts[0], c.stranger()  # unknown as well: still refused
    pair = c.draw(st.lists(st.sampled_from(parts), min_size=2, max_size=2, unique=True))
    old, new = sorted(pair, key=lambda n: c.pool.rank.get(n, -1))
    return old, new


BAD_PART_VALUES = {
    "part_number": ["", "---", "1" * 41, "ß" * 30, "1\x002"],
    "description": ["", "   ", "x" * 256, "a\x00b"],
    "category": ["c" * 81],
    "unit_price": ["cheap", "-1", "1e10", "NaN", "Infinity", "9999999999.995"],
    "currency": ["EURO", "E1R", "€€€"],
    "status": ["gone", "activ"],
    "stock_qty": ["-1", "1.5", "²", "3000000000"],
    "safety_critical": ["maybe", "y"],
}


def bad_part_value(release: Release, c: Context) -> tuple[Release, str]:
    column = c.draw(st.sampled_from(sorted(BAD_PART_VALUES)))
    value = c.draw(st.sampled_from(BAD_PART_VALUES[column]))
    index = c.draw(st.integers(0, len(release.parts) - 1))
    parts = [dict(r) for r in release.parts]
    parts[index][column] = value
    return with_rows(release, parts=parts), "parts.csv"


BAD_MODEL_VALUES = {
    "model_number": ["", "./-"],
    "released_on": ["2024-13-01", "yesterday"],
    "exchange_value": ["x", "-5"],
    "product_line": ["p" * 41],
}


def bad_model_value(release: Release, c: Context) -> tuple[Release, str]:
    column = c.draw(st.sampled_from(sorted(BAD_MODEL_VALUES)))
    row = {"model_number": c.stranger(), column: c.draw(st.sampled_from(BAD_MODEL_VALUES[column]))}
    return _add(release, "models", row), "models.csv"


BAD_FITMENT_VALUES = {
    "quantity": ["0", "-1", "one"],
    "ref_no": ["r" * 21],
    "serial_to": ["1000"],  # with serial_from 5000
}


def bad_fitment_value(release: Release, c: Context) -> tuple[Release, str]:
    release, model = c.model_of(release)
    column = c.draw(st.sampled_from(sorted(BAD_FITMENT_VALUES)))
    row = _fitment(model, c.part_of(release), serial_from="5000")
    row[column] = c.draw(st.sampled_from(BAD_FITMENT_VALUES[column]))
    return _add(release, "fitments", row), "fitments.csv"


BAD_SUPERSESSION_VALUES = {
    "quantity": ["0", "x"],
    "interchangeability": ["sideways"],
    "effective_on": ["tomorrow"],
    "note": [""],  # with interchangeability conditional
    "serial_to": ["1000"],  # with serial_from 5000
}


def bad_supersession_value(release: Release, c: Context) -> tuple[Release, str]:
    old, new = _ordered_pair(release, c)
    column = c.draw(st.sampled_from(sorted(BAD_SUPERSESSION_VALUES)))
    row = _supersession(old, new, serial_from="5000")
    if column == "note":
        row["interchangeability"] = "conditional"
    row[column] = c.draw(st.sampled_from(BAD_SUPERSESSION_VALUES[column]))
    return _add(release, "supersessions", row), "supersessions.csv"


BREAKAGES: list[Breakage] = [
    dangling_supersession,
    dangling_fitment_part,
    dangling_fitment_model,
    duplicate_part,
    duplicate_model,
    duplicate_fitment,
    duplicate_supersession,
    cycle,
    bad_part_value,
    bad_model_value,
    bad_fitment_value,
    bad_supersession_value,
]

#: ``folder -> the file a problem must name``: damage to the written files themselves.
Damage = Callable[[Path], str]


def _append(folder: Path, name: str, data: bytes) -> str:
    with open(folder / name, "ab") as handle:
        handle.write(data)
    return name


def unknown_column(folder: Path) -> str:
    path = folder / "parts.csv"
    header, rest = path.read_bytes().split(b"\r\n", 1)
    path.write_bytes(header + b",colour\r\n" + rest)
    return "parts.csv"


def missing_required_column(folder: Path) -> str:
    (folder / "parts.csv").write_text("part_number,category\r\n1-2,board\r\n", encoding="utf-8")
    return "parts.csv"


def too_many_fields(folder: Path) -> str:
    return _append(folder, "parts.csv", b"9-9,NINE,,,,,,,,EXTRA\r\n")


def not_utf8(folder: Path) -> str:
    return _append(folder, "parts.csv", "9-9,CÂBLE\r\n".encode("latin-1"))


def unclosed_quote(folder: Path) -> str:
    return _append(folder, "parts.csv", b'9-9,"OPEN\r\n')


def stray_file(folder: Path) -> str:
    (folder / "prices.csv").write_text("x\r\n", encoding="utf-8")
    return "prices.csv"


def no_parts_file(folder: Path) -> str:
    (folder / "parts.csv").unlink()
    return "parts.csv"


def empty_parts_file(folder: Path) -> str:
    (folder / "parts.csv").write_bytes(b"")
    return "parts.csv"


DAMAGES: list[Damage] = [
    unknown_column,
    missing_required_column,
    too_many_fields,
    not_utf8,
    unclosed_quote,
    stray_file,
    no_parts_file,
    empty_parts_file,
]


def _name(how: Breakage | Damage | str) -> str:
    return how if isinstance(how, str) else how.__name__


@pytest.mark.parametrize("how", [*BREAKAGES, *DAMAGES, "duplicate label"], ids=_name)
@BROKEN
@given(histories(), st.data())
def test_a_broken_release_is_refused_and_changes_nothing(
    session: Session,
    how: Breakage | Damage | str,
    generated: tuple[Pool, Release, Release],
    data: st.DataObject,
) -> None:
    pool, first, second = generated
    label = "r2"
    with scratch(session) as folder:
        import_release(session, path=first.write(folder / "r1"), label="r1")
        context = Context(
            data,
            pool,
            [normalise(r["part_number"]) for r in first.parts],
            [normalise(r["model_number"]) for r in first.models or []],
        )
        if how == "duplicate label":
            path, expected_file, label = second.write(folder / "r2"), "", "r1"
        elif how in BREAKAGES:
            broken, expected_file = how(second, context)  # type: ignore[operator]
            path = broken.write(folder / "r2")
        else:
            path = second.write(folder / "r2")
            expected_file = how(path)  # type: ignore[operator]
        before = snapshot(session.connection())
        with pytest.raises(InvalidRelease) as refused:
            import_release(session, path=path, label=label, allow_drops=True)
        problems = refused.value.problems
        assert problems
        assert any(p.file == expected_file for p in problems), [str(p) for p in problems]
        assert snapshot(session.connection()) == before
