"""Resolutions kept per release: every number's answer computed at import, read in one look-up.

The pure resolver (``supersession.resolve``) stays the definition: an import runs it for every
number whose answer the release may have changed and keeps the result, serialised, as a version
valid from that release until a later one changes it (``ResolutionVersion``). Only numbers with
a successor have a row; a number without one resolves to itself, which its part version says, so
the look-up reads the part version and the answer together, in one statement.

What a release may have changed: the answer of a number depends on the edges and the part states
reachable from it. A release changes some parts (a version opened or closed) and some edges;
every number that reaches one of them (by the edges before the release or after it) is resolved
again, the rest keep their rows. A full pass runs on the first release that keeps answers.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    insert,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql.selectable import CTE

from parts_catalog.bulk import writer
from parts_catalog.models import PartVersion, Release, ResolutionVersion, SupersessionVersion
from parts_catalog.numbers import normalise
from parts_catalog.supersession import Edge, PartState, Resolution, ResultItem, resolve

_temp = MetaData()
#: The numbers to resolve again, and the parts reachable from them.
_affected = Table(
    "stage_affected", _temp, Column("norm", String(40), primary_key=True), prefixes=["TEMPORARY"]
)
_reach = Table(
    "stage_reach", _temp, Column("norm", String(40), primary_key=True), prefixes=["TEMPORARY"]
)

_parts: Table = PartVersion.__table__  # type: ignore[assignment]
_edges: Table = SupersessionVersion.__table__  # type: ignore[assignment]
_answers: Table = ResolutionVersion.__table__  # type: ignore[assignment]


# --- the stored form ------------------------------------------------------------------------------


# One encoder for every answer: ``json.dumps`` with options builds a new one per call, which
# cost as much as encoding an import's hundreds of thousands of short answers.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode(resolution: Resolution) -> str:
    """A known number's resolution as compact JSON (``requested`` is the asker's, not kept)."""
    return _JSON.encode(
        [
            resolution.outcome,
            [
                [
                    e.old,
                    e.new,
                    e.old_number,
                    e.new_number,
                    e.quantity,
                    e.interchangeability,
                    e.effective_on.isoformat() if e.effective_on else None,
                    e.serial_from,
                    e.serial_to,
                    e.note,
                ]
                for e in resolution.chain
            ],
            [
                [i.part_number, i.quantity, i.status, i.condition, i.safety_critical]
                for i in resolution.result
            ],
            list(resolution.notes),
            resolution.requires_confirmation,
        ]
    )


def decode(requested: str, answer: str) -> Resolution:
    outcome, chain, result, notes, confirm = json.loads(answer)
    return Resolution(
        requested=requested,
        known=True,
        outcome=outcome,
        chain=tuple(
            Edge(o, n, on, nn, q, i, date.fromisoformat(d) if d else None, sf, st, note)
            for o, n, on, nn, q, i, d, sf, st, note in chain
        ),
        result=tuple(ResultItem(*item) for item in result),
        notes=tuple(notes),
        requires_confirmation=confirm,
    )


# --- reading --------------------------------------------------------------------------------------


def _as_of_join() -> Any:
    rid = bindparam("rid", type_=Integer)
    return _parts.outerjoin(
        _answers,
        and_(
            _answers.c.number_norm == _parts.c.number_norm,
            _answers.c.valid_from <= rid,
            or_(_answers.c.valid_to.is_(None), _answers.c.valid_to > rid),
        ),
    )


_COLUMNS = (
    _parts.c.number_norm,
    _parts.c.number,
    _parts.c.status,
    _parts.c.safety_critical,
    _parts.c.valid_to,
    _answers.c.answer,
)
# Built once: SQLAlchemy caches the compiled form of a statement it has seen.
_ONE = (
    select(*_COLUMNS)
    .select_from(_as_of_join())
    .where(_parts.c.number_norm == bindparam("norm"), _parts.c.valid_from <= bindparam("rid"))
    .order_by(_parts.c.valid_from.desc())
    .limit(1)
)
_MANY = (
    select(*_COLUMNS)
    .select_from(_as_of_join())
    .where(
        _parts.c.number_norm.in_(bindparam("norms", expanding=True)),
        _parts.c.valid_from <= bindparam("rid"),
    )
    .order_by(_parts.c.number_norm, _parts.c.valid_from)
)


def _answer(requested: str, row: Sequence[Any], release_id: int) -> Resolution:
    norm, number, status, safety_critical, valid_to, answer = row
    if answer is not None:
        return decode(requested, answer)
    # No successor: the part is its own answer, as the resolver says of it.
    listed = valid_to is None or valid_to > release_id
    state = PartState(number, status, listed, bool(safety_critical))
    return resolve(requested, successors={}, parts={norm: state})


def lookup(session: Session, number: str, release: Release) -> Resolution | None:
    """The kept answer for ``number`` as of ``release`` (no serial), or None when the release
    keeps none."""
    if not release.precomputed:
        return None
    row = session.execute(_ONE, {"norm": normalise(number), "rid": release.id}).first()
    if row is None:
        return Resolution(requested=number, known=False, outcome="unknown")
    return _answer(number, row, release.id)


def lookup_many(
    session: Session, numbers: Iterable[str], release: Release
) -> dict[str, Resolution] | None:
    """:func:`lookup` for many numbers at once, by the number as asked."""
    if not release.precomputed:
        return None
    asked = list(dict.fromkeys(numbers))
    by_norm: dict[str, list[str]] = defaultdict(list)
    for number in asked:
        by_norm[normalise(number)].append(number)
    rows: dict[str, Sequence[Any]] = {}
    norms = list(by_norm)
    for start in range(0, len(norms), 500):
        chunk = norms[start : start + 500]
        for row in session.execute(_MANY, {"norms": chunk, "rid": release.id}):
            rows[row[0]] = row  # ordered by valid_from: the last is the version as of
    found: dict[str, Resolution] = {}
    for norm, spellings in by_norm.items():
        version = rows.get(norm)
        for number in spellings:
            found[number] = (
                _answer(number, version, release.id)
                if version is not None
                else Resolution(requested=number, known=False, outcome="unknown")
            )
    return found


def serial_blind(resolution: Resolution) -> bool:
    """Whether a serial cannot change the answer: no row on the way has a serial range."""
    return not any(edge.is_ranged for edge in resolution.chain)


def _touched_upwards(rid: int) -> CTE:
    """Parts with a version opened or closed by release ``rid``, parts whose edges it changed,
    and upwards from them by the edges before or after it: every number that may see a change."""
    seeds = union(
        select(_parts.c.number_norm.label("norm")).where(_parts.c.valid_from == rid),
        select(_parts.c.number_norm).where(_parts.c.valid_to == rid),
        select(_edges.c.old_norm).where(_edges.c.valid_from == rid),
        select(_edges.c.old_norm).where(_edges.c.valid_to == rid),
    ).subquery("seeds")
    up = select(seeds.c.norm).cte("up", recursive=True)
    edge = _edges.alias("e")
    return up.union(
        select(edge.c.old_norm)
        .join(up, edge.c.new_norm == up.c.norm)
        .where(or_(edge.c.valid_to.is_(None), edge.c.valid_to == rid))
    )


def _reachable_downwards() -> CTE:
    """From the affected numbers that have a successor now, every part their answers reach."""
    affected = _affected.alias("a")
    edge = _edges.alias("e")
    has_successor = (
        select(edge.c.old_norm)
        .where(edge.c.old_norm == affected.c.norm, edge.c.valid_to.is_(None))
        .exists()
    )
    down = select(affected.c.norm).where(has_successor).cte("down", recursive=True)
    step = _edges.alias("s")
    return down.union(
        select(step.c.new_norm)
        .join(down, step.c.old_norm == down.c.norm)
        .where(step.c.valid_to.is_(None))
    )


# --- keeping them true ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Refresh:
    resolved: int
    changed: int
    full: bool


def refresh(
    conn: Connection,
    release: Release,
    *,
    full: bool,
    progress: Callable[[str], None] | None = None,
) -> Refresh:
    """Bring the kept answers up to ``release``, the newest, whose rows have just been applied.

    :param full: resolve every number with a successor (the previous release kept no answers);
        otherwise only those that reach a part or an edge this release changed.
    """
    say = progress or (lambda _message: None)
    rid = release.id
    for table in _temp.sorted_tables:
        conn.execute(DropTable(table, if_exists=True))
        conn.execute(CreateTable(table))
    current_edge = _edges.c.valid_to.is_(None)
    if full:
        say("Resolving every number with a successor")
        conn.execute(
            insert(_reach).from_select(
                ["norm"],
                select(_edges.c.old_norm)
                .where(current_edge)
                .union(select(_edges.c.new_norm).where(current_edge)),
            )
        )
    else:
        # Touched: parts with a version opened or closed here, parts whose edges changed here.
        # Upwards from them by the edges before or after the release: who may see a change.
        conn.execute(insert(_affected).from_select(["norm"], select(_touched_upwards(rid).c.norm)))
        # Downwards from those that have a successor now: what their answers are made of.
        conn.execute(insert(_reach).from_select(["norm"], select(_reachable_downwards().c.norm)))
    reach = _reach.c.norm
    edge_rows = conn.execute(
        select(
            _edges.c.old_norm,
            _edges.c.new_norm,
            _edges.c.quantity,
            _edges.c.interchangeability,
            _edges.c.effective_on,
            _edges.c.serial_from,
            _edges.c.serial_to,
            _edges.c.note,
        )
        .join(_reach, _edges.c.old_norm == reach)
        .where(current_edge)
        .order_by(_edges.c.id)  # as the walking resolver reads them
    ).all()
    states: dict[str, PartState] = {}
    part_rows = conn.execute(
        select(
            _parts.c.number_norm,
            _parts.c.number,
            _parts.c.status,
            _parts.c.safety_critical,
            _parts.c.valid_to,
        )
        .join(_reach, _parts.c.number_norm == reach)
        .order_by(_parts.c.number_norm, _parts.c.valid_from)
    )
    for norm, number, status, safety_critical, valid_to in part_rows:
        # The last version up to this release (the newest): listed while not closed.
        states[norm] = PartState(number, status, valid_to is None, bool(safety_critical))
    spelled = {norm: state.number for norm, state in states.items()}
    successors: dict[str, list[Edge]] = defaultdict(list)
    for old, new, quantity, kind, effective_on, serial_from, serial_to, note in edge_rows:
        successors[old].append(
            Edge(
                old,
                new,
                spelled.get(old, old),
                spelled.get(new, new),
                quantity,
                kind,
                effective_on,
                serial_from,
                serial_to,
                note,
            )
        )
    if full:
        starts: Iterable[str] = successors
        kept_query = select(_answers.c.number_norm, _answers.c.answer).where(
            _answers.c.valid_to.is_(None)
        )
    else:
        affected = {norm for (norm,) in conn.execute(select(_affected.c.norm))}
        starts = [norm for norm in successors if norm in affected]
        kept_query = (
            select(_answers.c.number_norm, _answers.c.answer)
            .join(_affected, _affected.c.norm == _answers.c.number_norm)
            .where(_answers.c.valid_to.is_(None))
        )
    say(f"Resolving {len(successors) if full else len(affected):,} numbers")
    answers = {norm: encode(resolve(norm, successors=successors, parts=states)) for norm in starts}
    kept: Mapping[str, str] = dict(conn.execute(kept_query).all())
    ended = [norm for norm, answer in kept.items() if answers.get(norm) != answer]
    fresh = [
        (norm, rid, None, answer) for norm, answer in answers.items() if kept.get(norm) != answer
    ]
    if ended:
        conn.execute(
            update(_answers)
            .where(
                _answers.c.number_norm == bindparam("norm"),
                _answers.c.valid_to.is_(None),
            )
            .values(valid_to=rid),
            [{"norm": norm} for norm in ended],
        )
    if fresh:
        write = writer(conn, _answers)
        for start in range(0, len(fresh), 50_000):
            write(fresh[start : start + 50_000])
    for table in _temp.sorted_tables:
        conn.execute(DropTable(table, if_exists=True))
    return Refresh(
        resolved=len(answers), changed=len(set(ended) | {f[0] for f in fresh}), full=full
    )
