"""Kept resolutions, by property: after a full import, a delta (rows added, changed, dropped with
``action=drop``, a supersession pointed elsewhere) and another snapshot, the answer kept for every
number as of every release is the pure resolver's over that release's rows.

``resolve_by_walking`` runs ``supersession.resolve`` over the rows read hop by hop (checked
against the plain rows by ``test_importer``); the kept answers must equal it exactly.
"""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from parts_catalog.importer import import_release
from parts_catalog.models import DELTA
from parts_catalog.models import Release as ReleaseRecord
from parts_catalog.numbers import normalise
from parts_catalog.resolutions import lookup
from parts_catalog.services import resolve_by_walking, resolve_number
from tests.parts_catalog.releases import HEADERS
from tests.properties.budget import DATABASE
from tests.properties.catalogue import (
    CORE,
    Pool,
    Release,
    Rows,
    part_rows,
    pools,
    releases,
    serial_range,
    serials,
    spelling,
)
from tests.properties.test_importer import scratch

Delta = dict[str, Rows]


def _edge_key(row: dict[str, str]) -> tuple[str, str, str, str]:
    return (
        normalise(row["old_part_number"]),
        normalise(row["new_part_number"]),
        row["serial_from"].strip(),
        row["serial_to"].strip(),
    )


@st.composite
def deltas(draw: st.DrawFn, pool: Pool, first: Release) -> Delta:
    """A valid delta after ``first``: parts changed, added or dropped; supersessions added,
    changed, dropped, and pointed elsewhere (drop old → new, add old → other), all from a lower
    rank to a higher one, so never a cycle."""
    listed = {normalise(r["part_number"]) for r in first.parts}
    parts: Rows = []
    for norm in draw(st.lists(st.sampled_from(pool.parts), unique=True, max_size=5)):
        if norm in listed and draw(st.booleans()):
            parts.append({"part_number": draw(spelling(norm)), "description": "", "action": "drop"})
        else:
            parts.append({**draw(part_rows(norm)), "action": ""})
    added = {normalise(r["part_number"]) for r in parts if not r["action"]}
    ranked = sorted(listed | added, key=pool.rank.__getitem__)
    current = list(first.supersessions or [])
    used: set[tuple[str, str, str, str]] = set()
    supersessions: Rows = []

    def add(old: str, new: str, serial_from: str = "", serial_to: str = "") -> None:
        row = {
            "old_part_number": draw(spelling(old)),
            "new_part_number": draw(spelling(new)),
            "quantity": draw(st.sampled_from(["", "1", "2"])),
            "interchangeability": draw(st.sampled_from(["", "one_way", "two_way"])),
            "effective_on": "",
            "serial_from": serial_from,
            "serial_to": serial_to,
            "note": draw(st.sampled_from(["", "revised"])),
            "action": "",
        }
        if _edge_key(row) not in used:
            used.add(_edge_key(row))
            supersessions.append(row)

    dropped = (
        draw(st.lists(st.sampled_from(current), unique_by=_edge_key, max_size=3)) if current else []
    )
    for row in dropped:
        old, new, serial_from, serial_to = _edge_key(row)
        used.add((old, new, serial_from, serial_to))
        supersessions.append(
            {
                "old_part_number": row["old_part_number"],
                "new_part_number": row["new_part_number"],
                "quantity": "",
                "interchangeability": "",
                "effective_on": "",
                "serial_from": serial_from,
                "serial_to": serial_to,
                "note": "",
                "action": "drop",
            }
        )
        others = [n for n in ranked if pool.rank[n] > pool.rank[old] and n != new]
        if others and draw(st.booleans()):  # pointed elsewhere
            add(old, draw(st.sampled_from(others)), serial_from, serial_to)
    if len(ranked) >= 2:
        for _ in range(draw(st.integers(0, 4))):
            i = draw(st.integers(0, len(ranked) - 2))
            j = draw(st.integers(i + 1, len(ranked) - 1))
            add(ranked[i], ranked[j], *draw(serial_range()))
    if not parts and not supersessions:
        parts.append({**draw(part_rows(ranked[0])), "action": ""})
    return {"parts": parts, "supersessions": supersessions}


def write_delta(folder: Path, delta: Delta) -> Path:
    folder.mkdir(parents=True)
    for stem, rows in delta.items():
        if not rows:
            continue
        name = f"{stem}.csv"
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*HEADERS[name], "action"], restval="")
            writer.writeheader()
            writer.writerows(rows)
    return folder


@st.composite
def histories(draw: st.DrawFn) -> tuple[Pool, Release, Delta, Release]:
    pool = draw(pools())
    first = draw(releases(pool))
    delta = draw(deltas(pool, first))
    known = sorted(
        {normalise(r["part_number"]) for r in first.parts}
        | {normalise(r["part_number"]) for r in delta["parts"]}
    )
    models = [normalise(r["model_number"]) for r in first.models or []]
    third = draw(releases(pool, known_parts=known, known_models=models))
    return pool, first, delta, third


def assert_kept_answers_walk(session: Session, pool: Pool, data: st.DataObject) -> None:
    stranger = data.draw(CORE.filter(lambda n: n not in pool.parts))
    for record in session.scalars(select(ReleaseRecord).order_by(ReleaseRecord.id)):
        assert record.precomputed
        for norm in [*pool.parts, stranger]:
            asked = data.draw(spelling(norm))
            kept = lookup(session, asked, record)
            assert kept == resolve_by_walking(session, asked, release=record), (record, norm)
            serial = data.draw(serials)
            assert resolve_number(
                session, asked, release=record, serial=serial
            ) == resolve_by_walking(session, asked, release=record, serial=serial)


@DATABASE
@given(histories(), st.data())
def test_kept_answers_are_the_resolvers_after_imports_and_deltas(
    session: Session,
    generated: tuple[Pool, Release, Delta, Release],
    data: st.DataObject,
) -> None:
    pool, first, delta, third = generated
    with scratch(session) as folder:
        import_release(session, path=first.write(folder / "r1"), label="r1")
        assert_kept_answers_walk(session, pool, data)
        import_release(session, path=write_delta(folder / "r2", delta), label="r2", kind=DELTA)
        assert_kept_answers_walk(session, pool, data)
        import_release(session, path=third.write(folder / "r3"), label="r3", allow_drops=True)
        assert_kept_answers_walk(session, pool, data)
