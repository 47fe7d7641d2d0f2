"""Random valid releases as plain data, what the catalogue should then answer, and snapshots.

A ``Release`` holds the rows of its CSV files exactly as written (strings, spelled as a person
might: any case, separators anywhere). The ``expected_*`` functions say what the contract
(DESIGN.md "Release files") makes of them, independently of the importer's code.
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import Connection, inspect, text

from parts_catalog.numbers import compare_serials, normalise
from parts_catalog.supersession import Edge
from tests.parts_catalog.releases import write_release

Rows = list[dict[str, str]]

CORE = st.text(st.sampled_from(string.ascii_uppercase + string.digits), min_size=1, max_size=10)
SEPARATOR = st.sampled_from([" ", "-", ".", "/", "\u00a0"])
#: Any text a person might type, but never NUL (refused, see test_release_rows) and never only
#: white space (a required field would be missing).
WORDS = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=30
).filter(lambda s: bool(s.strip()))


def short(limit: int) -> st.SearchStrategy[str]:
    return st.just("") | WORDS.map(lambda s: s[:limit])


def any_case(words: Sequence[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(words).flatmap(lambda w: st.sampled_from([w, w.upper(), w.capitalize()]))


@st.composite
def spelling(draw: st.DrawFn, norm: str) -> str:
    """``norm`` as someone might write it: any letter lower-cased, separators between
    characters (never more than 40 characters in all)."""
    out = []
    for i, char in enumerate(norm):
        if i and draw(st.booleans()):
            out.append(draw(SEPARATOR))
        out.append(char.lower() if draw(st.booleans()) else char)
    return "".join(out)


amounts = st.just("") | st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2).map(
    str
)
days = st.just("") | st.dates(date(1990, 1, 1), date(2040, 12, 31)).map(date.isoformat)
serials = st.integers(1000, 9999).map(str)


@st.composite
def serial_range(draw: st.DrawFn) -> tuple[str, str]:
    low = draw(st.just("") | serials)
    high = draw(st.just("") | serials)
    if low and high and compare_serials(low, high) > 0:
        low, high = high, low
    return low, high


@dataclass(frozen=True)
class Release:
    parts: Rows
    models: Rows | None = None  # None: the file is left out (carried over)
    fitments: Rows | None = None
    supersessions: Rows | None = None

    def files(self) -> dict[str, Rows | None]:
        return {
            "parts": self.parts,
            "models": self.models,
            "fitments": self.fitments,
            "supersessions": self.supersessions,
        }

    def write(self, folder: Path) -> Path:
        return write_release(folder, **self.files())


@dataclass(frozen=True)
class Pool:
    """Normal forms that releases draw from; ``rank`` orders parts so that supersessions only
    go from a lower rank to a higher one, which keeps them free of cycles."""

    parts: tuple[str, ...]
    models: tuple[str, ...]
    rank: dict[str, int] = field(default_factory=dict)


@st.composite
def pools(draw: st.DrawFn, *, max_parts: int = 8, max_models: int = 3) -> Pool:
    parts = draw(st.lists(CORE, min_size=2, max_size=max_parts, unique=True))
    models = draw(st.lists(CORE, min_size=1, max_size=max_models, unique=True))
    order = draw(st.permutations(parts))
    return Pool(tuple(parts), tuple(models), {p: i for i, p in enumerate(order)})


@st.composite
def part_rows(draw: st.DrawFn, norm: str) -> dict[str, str]:
    return {
        "part_number": draw(spelling(norm)),
        "description": draw(WORDS),
        "category": draw(short(80)),
        "unit_price": draw(amounts),
        "currency": draw(st.sampled_from(["", "EUR", "usd", "Gbp"])),
        "status": draw(st.just("") | any_case(["active", "discontinued", "nla"])),
        "stock_qty": draw(st.just("") | st.integers(0, 2_000_000_000).map(str)),
        "safety_critical": draw(st.just("") | any_case(["yes", "no"])),
    }


@st.composite
def model_rows(draw: st.DrawFn, norm: str) -> dict[str, str]:
    return {
        "model_number": draw(spelling(norm)),
        "name": draw(short(255)),
        "product_line": draw(st.sampled_from(["", "TV", "Camera", "Audio"])),
        "chassis": draw(short(40)),
        "released_on": draw(days),
        "support_ends_on": draw(days),
        "exchange_value": draw(amounts),
    }


def _key(values: Sequence[str]) -> tuple[str, ...]:
    """Two rows name the same thing when their keys agree once stripped and normalised."""
    return tuple(v.strip() for v in values)


@st.composite
def releases(
    draw: st.DrawFn,
    pool: Pool,
    *,
    known_parts: Sequence[str] = (),
    known_models: Sequence[str] = (),
) -> Release:
    """A valid release over ``pool``: a non-empty subset of its parts and models; fitments and
    supersessions that name parts and models of this release or of the ``known`` ones (earlier
    releases); optional files sometimes left out when something earlier can be carried over."""
    earlier = bool(known_parts)
    leave_out = st.booleans() if earlier else st.just(False)
    without_models, without_fitments, without_supersessions = (draw(leave_out) for _ in "mfs")
    parts = draw(st.lists(st.sampled_from(pool.parts), min_size=1, unique=True))
    models = [] if without_models else draw(st.lists(st.sampled_from(pool.models), unique=True))
    nameable_parts = sorted(set(parts) | set(known_parts))
    nameable_models = sorted(set(models) | set(known_models))

    fitments: Rows = []
    seen: set[tuple[str, ...]] = set()
    if nameable_models:
        for _ in range(draw(st.integers(0, 6))):
            serial_from, serial_to = draw(serial_range())
            row = {
                "model_number": draw(spelling(draw(st.sampled_from(nameable_models)))),
                "part_number": draw(spelling(draw(st.sampled_from(nameable_parts)))),
                "ref_no": draw(st.just("") | st.integers(1, 999).map(str)),
                "diagram": draw(st.sampled_from(["", "Main chassis", "Cabinet"])),
                "quantity": draw(st.sampled_from(["", "1", "2", "12"])),
                "serial_from": serial_from,
                "serial_to": serial_to,
            }
            key = (
                normalise(row["model_number"]),
                normalise(row["part_number"]),
                *_key([row["ref_no"], row["diagram"], serial_from, serial_to]),
            )
            if key not in seen:
                seen.add(key)
                fitments.append(row)

    supersessions: Rows = []
    seen = set()
    ranked = sorted(nameable_parts, key=pool.rank.__getitem__)
    if len(ranked) >= 2:
        for _ in range(draw(st.integers(0, 6))):
            i = draw(st.integers(0, len(ranked) - 2))
            j = draw(st.integers(i + 1, len(ranked) - 1))
            kind = draw(st.sampled_from(["", "one_way", "two_way", "conditional", "Two_Way"]))
            serial_from, serial_to = draw(serial_range())
            note = draw(short(200))
            if kind == "conditional" and not note:
                note = "Only with the new bracket"
            row = {
                "old_part_number": draw(spelling(ranked[i])),
                "new_part_number": draw(spelling(ranked[j])),
                "quantity": draw(st.sampled_from(["", "1", "2", "3"])),
                "interchangeability": kind,
                "effective_on": draw(days),
                "serial_from": serial_from,
                "serial_to": serial_to,
                "note": note,
            }
            key = (ranked[i], ranked[j], serial_from, serial_to)
            if key not in seen:
                seen.add(key)
                supersessions.append(row)

    return Release(
        parts=[draw(part_rows(n)) for n in parts],
        models=None if without_models else [draw(model_rows(n)) for n in models],
        fitments=None if without_fitments else fitments,
        supersessions=None if without_supersessions else supersessions,
    )


# --- what the catalogue should answer ------------------------------------------------------------


def _or_none(value: str) -> str | None:
    return value.strip() or None


def _amount(value: str) -> Decimal | None:
    return Decimal(value.strip()).quantize(Decimal("0.01")) if value.strip() else None


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def expected_part(row: dict[str, str]) -> dict[str, Any]:
    return {
        "number": row["part_number"].strip(),
        "number_norm": normalise(row["part_number"]),
        "description": row["description"].strip(),
        "category": _or_none(row["category"]),
        "unit_price": _amount(row["unit_price"]),
        "currency": row["currency"].upper() or None,
        "status": row["status"].lower() or "active",
        "safety_critical": row["safety_critical"].lower() == "yes",
    }


def expected_model(row: dict[str, str]) -> dict[str, Any]:
    return {
        "number": row["model_number"].strip(),
        "number_norm": normalise(row["model_number"]),
        "name": _or_none(row["name"]),
        "product_line": _or_none(row["product_line"]),
        "chassis": _or_none(row["chassis"]),
        "released_on": _day(row["released_on"]),
        "support_ends_on": _day(row["support_ends_on"]),
        "exchange_value": _amount(row["exchange_value"]),
    }


def expected_fitment(row: dict[str, str]) -> tuple[Any, ...]:
    """``(model_norm, ref_no, diagram, quantity, serial_from, serial_to)``."""
    return (
        normalise(row["model_number"]),
        _or_none(row["ref_no"]),
        _or_none(row["diagram"]),
        int(row["quantity"] or 1),
        _or_none(row["serial_from"]),
        _or_none(row["serial_to"]),
    )


def expected_edge(row: dict[str, str], spelled: dict[str, str]) -> Edge:
    old, new = normalise(row["old_part_number"]), normalise(row["new_part_number"])
    return Edge(
        old=old,
        new=new,
        old_number=spelled[old],
        new_number=spelled[new],
        quantity=int(row["quantity"] or 1),
        interchangeability=row["interchangeability"].lower() or "one_way",
        effective_on=_day(row["effective_on"]),
        serial_from=_or_none(row["serial_from"]),
        serial_to=_or_none(row["serial_to"]),
        note=_or_none(row["note"]),
    )


@dataclass(frozen=True)
class State:
    """What is in force as of one release, built from the releases up to it (in order)."""

    parts: dict[str, dict[str, Any]]  # every part known so far: its latest version
    listed: frozenset[str]
    models: dict[str, dict[str, Any]]
    models_listed: frozenset[str]
    fitments: Rows
    supersessions: Rows


def states(history: Sequence[Release]) -> list[State]:
    """The state as of each release of ``history``: a file left out carries the previous rows
    over; a part left out is no longer listed but keeps its last version."""
    result: list[State] = []
    parts: dict[str, dict[str, Any]] = {}
    models: dict[str, dict[str, Any]] = {}
    models_listed: frozenset[str] = frozenset()
    fitments: Rows = []
    supersessions: Rows = []
    for release in history:
        parts = {**parts, **{normalise(r["part_number"]): expected_part(r) for r in release.parts}}
        if release.models is not None:
            new = {normalise(r["model_number"]): expected_model(r) for r in release.models}
            models = {**models, **new}
            models_listed = frozenset(new)
        fitments = release.fitments if release.fitments is not None else fitments
        supersessions = (
            release.supersessions if release.supersessions is not None else supersessions
        )
        listed = frozenset(normalise(r["part_number"]) for r in release.parts)
        result.append(
            State(dict(parts), listed, dict(models), models_listed, fitments, supersessions)
        )
    return result


def with_rows(release: Release, **files: Rows | None) -> Release:
    return replace(release, **files)


# --- snapshots -----------------------------------------------------------------------------------


def snapshot(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (and the names of temporary tables), to compare before and
    after something that must change nothing."""
    inspector = inspect(conn)
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for name in inspector.get_table_names():
        rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
        tables[name] = sorted((tuple(r) for r in rows), key=repr)
    # PostgreSQL's dialect does not list temporary tables (they live in pg_temp_N).
    with contextlib.suppress(NotImplementedError):
        tables["<temporary tables>"] = [(n,) for n in sorted(inspector.get_temp_table_names())]
    return tables
