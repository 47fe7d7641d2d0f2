"""Questions asked of the catalogue, each "as of" a release (the newest by default).

Functions take a ``Session`` and return plain dataclasses; they never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from parts_catalog import resolutions
from parts_catalog.errors import NoReleases, UnknownModel, UnknownPart, UnknownRelease
from parts_catalog.models import (
    NUMBER,
    FitmentVersion,
    ModelVersion,
    PartVersion,
    Release,
    StockLevel,
    SupersessionVersion,
)
from parts_catalog.numbers import normalise
from parts_catalog.supersession import Edge, PartState, Resolution, resolve

#: Asked by nearly every catalogue request: built once (building it cost more than running it).
_LATEST_RELEASE = select(Release).order_by(Release.id.desc()).limit(1)
#: ``as_of`` is written for a release's id; in a statement built once, a parameter stands for it.
_RELEASE_ID: Any = bindparam("release_id", type_=Integer)
#: The part page's own reads, built once for the same reason (``:norms``, ``:release_id``).
_PART_VERSIONS = (
    select(PartVersion)
    .where(
        PartVersion.number_norm.in_(bindparam("norms", expanding=True)),
        PartVersion.valid_from <= _RELEASE_ID,
    )
    .order_by(PartVersion.number_norm, PartVersion.valid_from)
)
_MODEL_VERSIONS = (
    select(ModelVersion)
    .where(
        ModelVersion.number_norm.in_(bindparam("norms", expanding=True)),
        ModelVersion.valid_from <= _RELEASE_ID,
    )
    .order_by(ModelVersion.number_norm, ModelVersion.valid_from)
)


def latest_release(session: Session) -> Release | None:
    return session.scalar(_LATEST_RELEASE)


@dataclass(frozen=True)
class ReleaseStamp:
    """A release as the database stores it: enough to tell it from any other, ever (an id
    alone could come back on SQLite after a rolled-back import)."""

    id: int
    label: str
    imported_at: datetime


_NEWEST_STAMP = (
    select(Release.id, Release.label, Release.imported_at).order_by(Release.id.desc()).limit(1)
)


def newest_release_stamp(session: Session) -> ReleaseStamp | None:
    """The newest release's stamp, without reading the release itself."""
    row = session.execute(_NEWEST_STAMP).first()
    return None if row is None else ReleaseStamp(*row)


def release_for(session: Session, label: str | None = None) -> Release:
    """The release called ``label``, or the newest when ``label`` is empty.

    :raises NoReleases: when nothing has been imported.
    :raises UnknownRelease: when no release has that label.
    """
    if label:
        release = session.scalar(select(Release).where(Release.label == label.strip()))
        if release is None:
            raise UnknownRelease(label)
        return release
    release = latest_release(session)
    if release is None:
        raise NoReleases()
    return release


def list_releases(session: Session) -> list[Release]:
    return list(session.scalars(select(Release).order_by(Release.id.desc())))


# --- parts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartInfo:
    number: str
    number_norm: str
    description: str
    category: str | None
    unit_price: Decimal | None
    currency: str | None
    status: str
    safety_critical: bool
    #: False when the part is known from an earlier release but not listed in this one.
    listed: bool
    last_listed_in: str | None = None


@dataclass(frozen=True)
class Fitment:
    model_number: str
    model_name: str | None
    product_line: str | None
    part_number: str
    part_description: str | None
    ref_no: str | None
    diagram: str | None
    quantity: int
    serial_from: str | None
    serial_to: str | None
    safety_critical: bool = False


@dataclass(frozen=True)
class PartDetail:
    part: PartInfo
    release: str
    stock: int | None
    fitments: list[Fitment]
    replaced_by: list[Edge]
    replaces: list[Edge]
    resolution: Resolution


def _info(version: PartVersion, *, listed: bool, last_listed_in: str | None = None) -> PartInfo:
    return PartInfo(
        number=version.number,
        number_norm=version.number_norm,
        description=version.description,
        category=version.category,
        unit_price=version.unit_price,
        currency=version.currency,
        status=version.status,
        safety_critical=version.safety_critical,
        listed=listed,
        last_listed_in=last_listed_in,
    )


def _latest_versions(
    session: Session, norms: Iterable[str], release_id: int
) -> dict[str, tuple[PartVersion, bool]]:
    """For each part, its version as of the release, or else its last one before; and whether
    it is listed in the release."""
    found: dict[str, tuple[PartVersion, bool]] = {}
    norms = list(norms)
    for start in range(0, len(norms), 500):
        chunk = norms[start : start + 500]
        rows = session.scalars(_PART_VERSIONS, {"norms": chunk, "release_id": release_id})
        for version in rows:
            listed = version.valid_to is None or version.valid_to > release_id
            found[version.number_norm] = (version, listed)
    return found


def get_part(session: Session, number: str, *, release: Release) -> PartInfo:
    """The part as of ``release``; a part dropped earlier is returned with ``listed=False``.

    :raises UnknownPart: when no release up to this one knows the number.
    """
    norm = normalise(number)
    found = _latest_versions(session, [norm], release.id)
    if norm not in found:
        raise UnknownPart(number)
    version, listed = found[norm]
    last = None
    if not listed and version.valid_to is not None:
        last = session.scalar(
            select(Release.label)
            .where(Release.id < version.valid_to)
            .order_by(Release.id.desc())
            .limit(1)
        )
    return _info(version, listed=listed, last_listed_in=last)


#: Built once: every part page asks it, and building it cost as much as running it.
_STOCK = select(StockLevel.number_norm, StockLevel.quantity).where(
    StockLevel.number_norm.in_(bindparam("norms", expanding=True))
)


def stock_of(session: Session, norms: Iterable[str]) -> dict[str, int]:
    norms = list(norms)
    if not norms:
        return {}
    rows: Sequence[tuple[str, int]] = session.execute(_STOCK, {"norms": norms}).all()
    return dict(rows)


def part_detail(
    session: Session, number: str, *, release: Release, serial: str | None = None
) -> PartDetail:
    """Everything the part page shows."""
    part = get_part(session, number, release=release)
    replaced_by, replaces = chain(session, part.number, release=release)
    return PartDetail(
        part=part,
        release=release.label,
        stock=stock_of(session, [part.number_norm]).get(part.number_norm),
        fitments=where_used(session, part.number, release=release),
        replaced_by=replaced_by,
        replaces=replaces,
        resolution=resolve_number(session, part.number, release=release, serial=serial),
    )


# --- supersession ------------------------------------------------------------------------------


def _reachable_edges(*, forward: bool) -> Select[SupersessionVersion]:
    """The rows leaving every number reachable from ``:start`` as of ``:release_id``."""
    release_id = _RELEASE_ID
    step = aliased(SupersessionVersion)
    step_own, step_other = (
        (step.old_norm, step.new_norm) if forward else (step.new_norm, step.old_norm)
    )
    reach = select(bindparam("start", type_=NUMBER).label("norm")).cte("reach", recursive=True)
    reach = reach.union(
        select(step_other).join(reach, step_own == reach.c.norm).where(step.as_of(release_id))
    )
    own = SupersessionVersion.old_norm if forward else SupersessionVersion.new_norm
    return (
        select(SupersessionVersion)
        .join(reach, own == reach.c.norm)
        .where(SupersessionVersion.as_of(release_id))
        .order_by(SupersessionVersion.id)
    )


def _hop_edges(*, forward: bool) -> Select[SupersessionVersion]:
    """The rows leaving any of the numbers ``:frontier`` as of ``:release_id``."""
    own = SupersessionVersion.old_norm if forward else SupersessionVersion.new_norm
    return (
        select(SupersessionVersion)
        .where(
            own.in_(bindparam("frontier", expanding=True)),
            SupersessionVersion.as_of(_RELEASE_ID),
        )
        .order_by(SupersessionVersion.id)
    )


#: Built once, as the newest release's statement is: building one cost more than running it.
_REACHABLE = {forward: _reachable_edges(forward=forward) for forward in (True, False)}
_HOP = {forward: _hop_edges(forward=forward) for forward in (True, False)}


def _edges(
    session: Session, release_id: int, start: str, *, forward: bool
) -> dict[str, list[SupersessionVersion]]:
    """Supersession rows reachable from ``start``, by the part they leave from, in the order a
    hop-by-hop reading gives them (by hop, and by id within a hop).

    On PostgreSQL one recursive statement finds them all (a statement a hop waited for the
    server each time); SQLite is read a hop at a time, as its planner answers the recursive
    join by first scanning the whole table for a Bloom filter.
    """
    hop: Callable[[list[str]], Iterable[SupersessionVersion]]
    if session.get_bind().dialect.name == "postgresql":
        leaving: dict[str, list[SupersessionVersion]] = defaultdict(list)
        reached = session.scalars(_REACHABLE[forward], {"start": start, "release_id": release_id})
        for row in reached:
            leaving[row.old_norm if forward else row.new_norm].append(row)

        def hop(frontier: list[str]) -> Iterable[SupersessionVersion]:
            return sorted((r for n in frontier for r in leaving.get(n, ())), key=lambda r: r.id)

    else:

        def hop(frontier: list[str]) -> Iterable[SupersessionVersion]:
            return session.scalars(_HOP[forward], {"frontier": frontier, "release_id": release_id})

    found: dict[str, list[SupersessionVersion]] = defaultdict(list)
    seen = {start}
    frontier = [start]
    while frontier:
        rows = hop(frontier)
        frontier = []
        for row in rows:
            here, there = (row.old_norm, row.new_norm) if forward else (row.new_norm, row.old_norm)
            found[here].append(row)
            if there not in seen:
                seen.add(there)
                frontier.append(there)
    return found


def _to_edge(row: SupersessionVersion, spelled: dict[str, str]) -> Edge:
    return Edge(
        old=row.old_norm,
        new=row.new_norm,
        old_number=spelled.get(row.old_norm, row.old_norm),
        new_number=spelled.get(row.new_norm, row.new_norm),
        quantity=row.quantity,
        interchangeability=row.interchangeability,
        effective_on=row.effective_on,
        serial_from=row.serial_from,
        serial_to=row.serial_to,
        note=row.note,
    )


def supersessions(session: Session, number: str, *, release: Release, direction: str) -> list[Edge]:
    """The whole chain from a part: ``forward`` ("replaced by") or ``backward`` ("replaces")."""
    forward = direction == "forward"
    found = chain(session, number, release=release, directions=(forward,))
    return found[0] if forward else found[1]


def chain(
    session: Session,
    number: str,
    *,
    release: Release,
    directions: Sequence[bool] = (True, False),
) -> tuple[list[Edge], list[Edge]]:
    """A part's chain both ways, ("replaced by", "replaces"), with the numbers of both spelled
    by one read; a direction not in ``directions`` (True: forward) is left empty."""
    norm = normalise(number)
    groups = {forward: _edges(session, release.id, norm, forward=forward) for forward in directions}
    flat = {
        forward: [row for group in rows.values() for row in group]
        for forward, rows in groups.items()
    }
    norms = {n for rows in flat.values() for row in rows for n in (row.old_norm, row.new_norm)}
    versions = _latest_versions(session, norms, release.id)
    spelled = {n: v.number for n, (v, _listed) in versions.items()}
    edges = {forward: [_to_edge(row, spelled) for row in rows] for forward, rows in flat.items()}
    return edges.get(True, []), edges.get(False, [])


def resolve_number(
    session: Session, number: str, *, release: Release, serial: str | None = None
) -> Resolution:
    """What to order today for ``number``: DESIGN.md's resolution, as of ``release``.

    One read of the answer kept at import (``parts_catalog.resolutions``); a release that keeps
    none, or a serial that a serial range on the way could decide, is resolved by walking.
    """
    kept = resolutions.lookup(session, number, release)
    if kept is not None and (serial is None or resolutions.serial_blind(kept)):
        return kept
    return resolve_by_walking(session, number, release=release, serial=serial)


def resolve_many(
    session: Session, numbers: Iterable[str], *, release: Release, serial: str | None = None
) -> dict[str, Resolution]:
    """:func:`resolve_number` for many numbers (a page's worth), by the number as asked: the
    kept answers in one read per 500 numbers."""
    asked = list(dict.fromkeys(numbers))
    kept = resolutions.lookup_many(session, asked, release) or {}
    found = {}
    for number in asked:
        resolution = kept.get(number)
        if resolution is None or not (serial is None or resolutions.serial_blind(resolution)):
            resolution = resolve_by_walking(session, number, release=release, serial=serial)
        found[number] = resolution
    return found


def resolve_by_walking(
    session: Session, number: str, *, release: Release, serial: str | None = None
) -> Resolution:
    """The pure resolver over the rows reachable from ``number`` as of ``release``, read hop by
    hop: exact for any release and serial, and the definition the kept answers are checked
    against."""
    norm = normalise(number)
    rows = _edges(session, release.id, norm, forward=True)
    norms = {norm} | {
        n for group in rows.values() for row in group for n in (row.old_norm, row.new_norm)
    }
    versions = _latest_versions(session, norms, release.id)
    spelled = {n: v.number for n, (v, _listed) in versions.items()}
    parts = {
        n: PartState(
            number=v.number, status=v.status, listed=listed, safety_critical=v.safety_critical
        )
        for n, (v, listed) in versions.items()
    }
    successors = {old: [_to_edge(row, spelled) for row in group] for old, group in rows.items()}
    return resolve(number, successors=successors, parts=parts, serial=serial)


# --- fitment -------------------------------------------------------------------------------------


def _fitments(
    session: Session,
    release: Release,
    *,
    part_norm: str | None = None,
    model_norm: str | None = None,
) -> list[Fitment]:
    query = select(FitmentVersion).where(FitmentVersion.as_of(release.id))
    if part_norm is not None:
        query = query.where(FitmentVersion.part_norm == part_norm)
    if model_norm is not None:
        query = query.where(FitmentVersion.model_norm == model_norm)
    rows = session.scalars(query).all()
    models = _models_as_of(session, {r.model_norm for r in rows}, release.id)
    parts = _latest_versions(session, {r.part_norm for r in rows}, release.id)
    result = []
    for row in rows:
        model = models.get(row.model_norm)
        part = parts.get(row.part_norm)
        result.append(
            Fitment(
                model_number=model.number if model else row.model_norm,
                model_name=model.name if model else None,
                product_line=model.product_line if model else None,
                part_number=part[0].number if part else row.part_norm,
                part_description=part[0].description if part else None,
                ref_no=row.ref_no,
                diagram=row.diagram,
                quantity=row.quantity,
                serial_from=row.serial_from,
                serial_to=row.serial_to,
                safety_critical=bool(part and part[0].safety_critical),
            )
        )
    return result


def _models_as_of(
    session: Session, norms: Iterable[str], release_id: int
) -> dict[str, ModelVersion]:
    found: dict[str, ModelVersion] = {}
    norms = list(norms)
    for start in range(0, len(norms), 500):
        chunk = norms[start : start + 500]
        rows = session.scalars(_MODEL_VERSIONS, {"norms": chunk, "release_id": release_id})
        for version in rows:
            found[version.number_norm] = version
    return found


def _ref_key(fitment: Fitment) -> tuple[str, tuple[int, str]]:
    ref = fitment.ref_no or ""
    digits = "".join(ch for ch in ref if ch.isascii() and ch.isdigit())
    return (fitment.diagram or "", (int(digits) if digits else 1 << 30, ref))


def ref_order(fitment: Fitment) -> tuple[str, tuple[int, str]]:
    """Sort key: by diagram, then reference number as a number where it is one."""
    return _ref_key(fitment)


def where_used(session: Session, number: str, *, release: Release) -> list[Fitment]:
    """The models a part fits, as of ``release``."""
    rows = _fitments(session, release, part_norm=normalise(number))
    return sorted(rows, key=lambda f: (f.model_number, _ref_key(f)))


@dataclass(frozen=True)
class ModelInfo:
    number: str
    number_norm: str
    name: str | None
    product_line: str | None
    chassis: str | None
    released_on: date | None
    support_ends_on: date | None
    exchange_value: Decimal | None
    listed: bool


@dataclass(frozen=True)
class ModelDetail:
    model: ModelInfo
    release: str
    #: Fitments by exploded-view diagram, each sorted by reference number.
    diagrams: dict[str, list[Fitment]] = field(default_factory=dict)


def get_model(session: Session, number: str, *, release: Release) -> ModelInfo:
    """:raises UnknownModel: when no release up to this one knows the model."""
    norm = normalise(number)
    version = _models_as_of(session, [norm], release.id).get(norm)
    if version is None:
        raise UnknownModel(number)
    return _model_info(version, release)


def get_models(
    session: Session, numbers: Iterable[str], *, release: Release
) -> dict[str, ModelInfo]:
    """:func:`get_model` for many models in one read (a statement per 500), by normal form;
    a number no release up to this one knows is left out."""
    versions = _models_as_of(session, {normalise(n) for n in numbers}, release.id)
    return {norm: _model_info(version, release) for norm, version in versions.items()}


def _model_info(version: ModelVersion, release: Release) -> ModelInfo:
    listed = version.valid_to is None or version.valid_to > release.id
    return ModelInfo(
        number=version.number,
        number_norm=version.number_norm,
        name=version.name,
        product_line=version.product_line,
        chassis=version.chassis,
        released_on=version.released_on,
        support_ends_on=version.support_ends_on,
        exchange_value=version.exchange_value,
        listed=listed,
    )


def model_parts(session: Session, number: str, *, release: Release) -> ModelDetail:
    """A model's parts by diagram and reference number, as of ``release``."""
    model = get_model(session, number, release=release)
    diagrams: dict[str, list[Fitment]] = defaultdict(list)
    for fitment in sorted(_fitments(session, release, model_norm=model.number_norm), key=_ref_key):
        diagrams[fitment.diagram or "Other parts"].append(fitment)
    return ModelDetail(model=model, release=release.label, diagrams=dict(diagrams))


# --- history and diff ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PartHistoryEntry:
    from_release: str
    to_release: str | None
    part: PartInfo


def part_history(
    session: Session, number: str, *, releases: Sequence[Release] | None = None
) -> list[PartHistoryEntry]:
    """Every version of a part, oldest first, with the releases it was valid in; ``releases``:
    every release, when the caller has read them already."""
    if releases is None:
        labels = dict(session.execute(select(Release.id, Release.label)).all())
    else:
        labels = {r.id: r.label for r in releases}
    versions = session.scalars(
        select(PartVersion)
        .where(PartVersion.number_norm == normalise(number))
        .order_by(PartVersion.valid_from)
    )
    entries = []
    for version in versions:
        last = None
        if version.valid_to is not None:
            earlier = [rid for rid in labels if rid < version.valid_to]
            last = labels[max(earlier)] if earlier else None
        entries.append(
            PartHistoryEntry(
                labels[version.valid_from], last, _info(version, listed=version.valid_to is None)
            )
        )
    return entries


DIFF_FIELDS = (
    "number",
    "description",
    "category",
    "unit_price",
    "currency",
    "status",
    "safety_critical",
)


@dataclass(frozen=True)
class PartChange:
    number: str
    fields: dict[str, tuple[object, object]]


@dataclass(frozen=True)
class ReleaseDiff:
    old: str
    new: str
    added: list[PartInfo]
    removed: list[PartInfo]
    changed: list[PartChange]
    newly_superseded: list[Edge]
    counts: dict[str, int]
    #: Each release's kind: a delta changed only the rows it named.
    old_kind: str = "snapshot"
    new_kind: str = "snapshot"


def diff_releases(
    session: Session, old: Release, new: Release, *, limit: int = 1000
) -> ReleaseDiff:
    """What changed in the parts list from ``old`` to ``new``: added, removed, changed (which
    fields) and newly superseded. Lists stop at ``limit`` entries; ``counts`` are complete."""
    a = select(PartVersion).where(PartVersion.as_of(old.id)).subquery("a")
    b = select(PartVersion).where(PartVersion.as_of(new.id)).subquery("b")

    def count(query: Select[Any]) -> int:
        return session.scalar(select(func.count()).select_from(query.subquery())) or 0

    added_q = (
        select(b.c.id).outerjoin(a, a.c.number_norm == b.c.number_norm).where(a.c.id.is_(None))
    )
    removed_q = (
        select(a.c.id).outerjoin(b, a.c.number_norm == b.c.number_norm).where(b.c.id.is_(None))
    )
    # Another version need not differ: a release can return a part to what it was before.
    differs = or_(*(a.c[name].is_distinct_from(b.c[name]) for name in DIFF_FIELDS))
    changed_q = (
        select(a.c.id, b.c.id)
        .join(b, a.c.number_norm == b.c.number_norm)
        .where(a.c.id != b.c.id, differs)
    )

    def versions(ids: Sequence[int]) -> list[PartVersion]:
        if not ids:
            return []
        return list(
            session.scalars(
                select(PartVersion).where(PartVersion.id.in_(ids)).order_by(PartVersion.number_norm)
            )
        )

    # Listed in number order, so a capped list is the first part of the whole one.
    added = versions(session.scalars(added_q.order_by(b.c.number_norm).limit(limit)).all())
    removed = versions(session.scalars(removed_q.order_by(a.c.number_norm).limit(limit)).all())
    pairs = session.execute(changed_q.order_by(b.c.number_norm).limit(limit)).all()
    by_id = {v.id: v for v in versions([i for pair in pairs for i in pair])}
    changed = []
    for old_id, new_id in pairs:
        before, after = by_id[old_id], by_id[new_id]
        fields = {
            name: (getattr(before, name), getattr(after, name))
            for name in DIFF_FIELDS
            if getattr(before, name) != getattr(after, name)
        }
        changed.append(PartChange(after.number, fields))
    changed.sort(key=lambda c: normalise(c.number))

    sa = select(SupersessionVersion).where(SupersessionVersion.as_of(old.id)).subquery("sa")
    sb = select(SupersessionVersion).where(SupersessionVersion.as_of(new.id)).subquery("sb")
    new_edges_q = (
        select(sb.c.id)
        .outerjoin(sa, (sa.c.old_norm == sb.c.old_norm) & (sa.c.new_norm == sb.c.new_norm))
        .where(sa.c.id.is_(None))
    )
    edge_rows = list(
        session.scalars(
            select(SupersessionVersion).where(
                SupersessionVersion.id.in_(new_edges_q.limit(limit).scalar_subquery())
            )
        )
    )
    norms = {n for row in edge_rows for n in (row.old_norm, row.new_norm)}
    spelled = {n: v.number for n, (v, _l) in _latest_versions(session, norms, new.id).items()}
    return ReleaseDiff(
        old=old.label,
        new=new.label,
        old_kind=old.kind,
        new_kind=new.kind,
        added=[_info(v, listed=True) for v in added],
        removed=[_info(v, listed=False) for v in removed],
        changed=changed,
        newly_superseded=[_to_edge(row, spelled) for row in edge_rows],
        counts={
            "added": count(added_q),
            "removed": count(removed_q),
            "changed": count(changed_q),
            "newly_superseded": count(new_edges_q),
        },
    )
