"""Exploded views: ``diagrams.csv`` and ``hotspots.csv`` of a release, and the questions asked
of them.

A diagram is a drawing (SVG or PNG, in the release beside the CSV files) for one model or for
every model of a chassis; its hotspots place reference numbers on it. The parts at a reference
number are the model's fitments with that ``ref_no`` whose ``diagram`` names this diagram (by
its id or its title; a fitment naming no diagram matches any of its model's).

Both files are small beside the parts list, so the import works on them in Python: it works out
what the catalogue will hold once the release applies, checks that whole, and writes versions
(``valid_from``/``valid_to``, as every catalogue row) only for what changed. A snapshot that
leaves a file out carries it over, as it does the other optional files; a delta's row adds or
replaces a diagram (by ``diagram_id``) or the hotspots of one reference number on a diagram
(by ``diagram_id`` and ``ref_no``), and ``action=drop`` takes them out. A diagram that goes takes
its hotspots with it.

Checks that need the release's models and fitments run once those are applied, in the import's
savepoint: a problem there still refuses the whole release.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from parts_catalog.drawings import PNG, Box, Drawing, DrawingRefused, element_ids, read_drawing
from parts_catalog.errors import InvalidRelease
from parts_catalog.models import (
    DiagramVersion,
    DrawingFile,
    FitmentVersion,
    HotspotVersion,
    ModelVersion,
    Release,
)
from parts_catalog.numbers import normalise
from parts_catalog.release_files import (
    DIAGRAMS,
    HOTSPOTS,
    Problems,
    ReleaseFileDamaged,
    ReleaseSource,
    Row,
    _number,
    _text,
    read_rows,
)
from parts_catalog.sqltypes import utcnow

#: DIAGRAM_MAX_BYTES's default: a detailed SVG drawing is a few hundred kilobytes.
DEFAULT_MAX_BYTES = 2 * 1024 * 1024

_DIAGRAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ELEMENT_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9._:-]*$")


# --- reading rows -------------------------------------------------------------------------------


def convert_diagram(values: dict[str, str], report: Callable[[str, str], None]) -> Row | None:
    """Return ``(diagram_key, model_norm, model_number, chassis, title, file)``.

    A delta's drop has only its ``diagram_id``; the rest is then ``None``.
    """
    key = _text(values, "diagram_id", report, 80)
    if key is not None and not _DIAGRAM_ID.match(key):
        report("diagram_id", f"{key!r} is not an id: letters, digits, dots, dashes and underscores")
    title = _text(values, "title", report, 200)
    model = values.get("model_number", "")
    chassis = _text(values, "chassis", report, 40)
    model_norm = _number(values, "model_number", report) if model else None
    if title is not None:  # not a drop: the diagram belongs to a model or to a chassis
        if model and chassis:
            report("chassis", "give a model_number or a chassis, not both")
        elif not model and not chassis:
            report("model_number", "give the model_number, or the chassis, the diagram is for")
    file = _text(values, "file", report, 120)
    if file is not None:
        lower = file.lower()
        if not _FILE_NAME.match(file):
            # Plain names survive a zip, a file system and an upload's renaming unchanged.
            report(
                "file",
                f"{file!r} is not a plain file name (letters, digits, dots, dashes, "
                "underscores): drawings sit beside the CSV files",
            )
        elif not (lower.endswith(".svg") or lower.endswith(".png")):
            report("file", f"{file!r} is neither an SVG nor a PNG drawing (.svg or .png)")
    return (key, model_norm, values.get("model_number") or None, chassis, title, file)


def _coordinate(
    values: dict[str, str], column: str, report: Callable[[str, str], None]
) -> float | None:
    text = values.get(column, "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        report(column, f"{text!r} is not a number")
        return None
    if not math.isfinite(value) or abs(value) > 1e9:
        report(column, f"{text!r} is not a coordinate")
        return None
    return value


def convert_hotspot(values: dict[str, str], report: Callable[[str, str], None]) -> Row | None:
    """Return ``(diagram_key, ref_no, x, y, w, h, element_id)``; all five of the place are
    ``None`` when none is given (a drop; anything else is told so by ``plan``)."""
    key = _text(values, "diagram_id", report, 80)
    ref_no = _text(values, "ref_no", report, 20)
    box = [_coordinate(values, c, report) for c in ("x", "y", "w", "h")]
    element = _text(values, "element_id", report, 120)
    given = [c for c in ("x", "y", "w", "h") if values.get(c)]
    if element is not None and given:
        report("element_id", "give x, y, w and h, or an element_id, not both")
    elif given and len(given) < 4:
        missing = [c for c in ("x", "y", "w", "h") if c not in given]
        report(missing[0], "a box needs all four of x, y, w and h")
    elif given and None not in box:
        w, h = box[2] or 0.0, box[3] or 0.0
        if w <= 0 or h <= 0:
            report("w" if w <= 0 else "h", "a box's width and height must be more than 0")
    if element is not None and not _ELEMENT_ID.match(element):
        report("element_id", f"{element!r} is not an SVG element id")
    return (key, ref_no, *box, element)


# --- the plan: what the catalogue holds once the release applies ---------------------------------


@dataclass(frozen=True)
class _Diagram:
    key: str
    model_norm: str | None
    model_number: str | None
    chassis: str | None
    title: str
    file_name: str
    sha256: str
    line: int | None  # in diagrams.csv; None when carried over

    def values(self) -> tuple[Any, ...]:
        return (self.model_norm, self.chassis, self.title, self.file_name, self.sha256)


HotspotKey = tuple[str, str, float | None, float | None, float | None, float | None, str | None]


@dataclass
class Plan:
    """What the release makes of the diagrams: checked, not yet written."""

    diagrams: dict[str, _Diagram]
    #: Every hotspot once the release applies, with its line in hotspots.csv (None: kept).
    hotspots: list[tuple[HotspotKey, int | None]]
    drawings: dict[str, tuple[str, Drawing]] = field(default_factory=dict)  # sha → (name, …)
    rows: dict[str, int] = field(default_factory=dict)
    carried_over: list[str] = field(default_factory=list)


@dataclass
class Change:
    added: int = 0
    removed: int = 0
    changed: int = 0


def any_listed(session: Session) -> bool:
    """Whether the catalogue lists any diagram now."""
    query = select(DiagramVersion.id).where(DiagramVersion.valid_to.is_(None)).limit(1)
    return session.scalar(query) is not None


def _current_diagrams(session: Session) -> dict[str, DiagramVersion]:
    rows = session.scalars(select(DiagramVersion).where(DiagramVersion.valid_to.is_(None)))
    return {d.diagram_key: d for d in rows}


def _current_hotspots(session: Session) -> list[HotspotVersion]:
    return list(
        session.scalars(
            select(HotspotVersion)
            .where(HotspotVersion.valid_to.is_(None))
            .order_by(HotspotVersion.id)
        )
    )


def _hotspot_key(h: HotspotVersion) -> HotspotKey:
    return (h.diagram_key, h.ref_no, h.x, h.y, h.w, h.h, h.element_id)


class _Shapes:
    """The drawings the checks need: read from the release, or from those stored."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._boxes: dict[str, tuple[str, Box]] = {}
        self._ids: dict[str, frozenset[str]] = {}

    def add(self, sha: str, media_type: str, box: Box, ids: frozenset[str]) -> None:
        self._boxes[sha] = (media_type, box)
        self._ids[sha] = ids

    def box(self, sha: str) -> tuple[str, Box]:
        if sha not in self._boxes:
            stored = self._session.get(DrawingFile, sha)
            assert stored is not None  # a version names only stored drawings
            box = Box(stored.box_x, stored.box_y, stored.box_width, stored.box_height)
            self._boxes[sha] = (stored.media_type, box)
        return self._boxes[sha]

    def ids(self, sha: str) -> frozenset[str]:
        if sha not in self._ids:
            stored = self._session.get(DrawingFile, sha)
            assert stored is not None
            self._ids[sha] = element_ids(stored.data) if stored.media_type != PNG else frozenset()
        return self._ids[sha]


def plan(
    session: Session,
    source: ReleaseSource,
    problems: Problems,
    *,
    delta: bool,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Plan | None:
    """Read and check the release's diagrams and hotspots, and their drawings, on their own.

    ``None`` when the release has neither file (both carry over unchanged).
    """
    has_diagrams, has_hotspots = source.has(DIAGRAMS.name), source.has(HOTSPOTS.name)
    if not (has_diagrams or has_hotspots):
        return None
    current = _current_diagrams(session)
    shapes = _Shapes(session)
    result = Plan(diagrams={}, hotspots=[])
    for spec, present in ((DIAGRAMS, has_diagrams), (HOTSPOTS, has_hotspots)):
        if not present:
            result.carried_over.append(spec.name)

    # Diagrams.
    if has_diagrams:
        diagram_drops: set[int] = set()
        rows = list(
            read_rows(
                source, DIAGRAMS, problems, convert_diagram, drops=diagram_drops if delta else None
            )
        )
        result.rows[DIAGRAMS.name] = len(rows)
        final: dict[str, _Diagram] = {k: _kept(v) for k, v in current.items()} if delta else {}
        seen: dict[str, int] = {}
        read: dict[str, str | None] = {}  # file name → sha256 (None: refused)
        for line, _digest, row in rows:
            key, model_norm, model_number, chassis, title, file_name = row
            if key in seen:
                problems.add(
                    DIAGRAMS.name, line, "diagram_id", f"repeats the diagram on line {seen[key]}"
                )
                continue
            seen[key] = line
            if line in diagram_drops:
                if key not in current:
                    problems.add(
                        DIAGRAMS.name,
                        line,
                        "diagram_id",
                        f"diagram {key} is not listed: nothing to drop",
                    )
                final.pop(key, None)
                continue
            sha = _drawing(
                source, problems, line, file_name, current.get(key), read, result, shapes, max_bytes
            )
            final[key] = _Diagram(
                key, model_norm, model_number, chassis, title, file_name, sha, line
            )
        result.diagrams = final
    else:
        result.diagrams = {k: _kept(v) for k, v in current.items()}

    # Hotspots.
    kept_hotspots: list[tuple[HotspotKey, int | None]] = [
        (_hotspot_key(h), None) for h in _current_hotspots(session)
    ]
    hotspots: list[tuple[HotspotKey, int | None]]
    if has_hotspots:
        hotspot_drops: set[int] = set()
        rows = list(
            read_rows(
                source, HOTSPOTS, problems, convert_hotspot, drops=hotspot_drops if delta else None
            )
        )
        result.rows[HOTSPOTS.name] = len(rows)
        named = {(row[0], row[1]) for _line, _d, row in rows}
        listed = {(k[0], k[1]) for k, _line in kept_hotspots}
        hotspots = (
            [(k, line) for k, line in kept_hotspots if (k[0], k[1]) not in named] if delta else []
        )
        first: dict[HotspotKey, int] = {}
        for line, _digest, row in rows:
            spot: HotspotKey = tuple(row)
            if line in hotspot_drops:
                if (spot[0], spot[1]) not in listed:
                    problems.add(
                        HOTSPOTS.name,
                        line,
                        "ref_no",
                        f"no hotspot of ref {spot[1]} on diagram {spot[0]} is listed: "
                        "nothing to drop",
                    )
                continue
            if spot[6] is None and None in spot[2:6]:
                if all(v is None for v in spot[2:6]):
                    problems.add(HOTSPOTS.name, line, "x", "give x, y, w and h, or the element_id")
                continue
            if spot in first:
                problems.add(
                    HOTSPOTS.name, line, "ref_no", f"repeats the hotspot on line {first[spot]}"
                )
                continue
            first[spot] = line
            hotspots.append((spot, line))
    else:
        hotspots = kept_hotspots

    # A diagram that goes takes its hotspots; every hotspot must lie on its drawing.
    placed: list[tuple[HotspotKey, int | None]] = []
    for key, where in hotspots:
        diagram = result.diagrams.get(key[0])
        if diagram is None:
            if where is not None:
                problems.add(
                    HOTSPOTS.name,
                    where,
                    "diagram_id",
                    f"diagram {key[0]} is neither in diagrams.csv nor listed",
                )
            continue
        placed.append((key, where))
        if diagram.sha256 == "":
            continue  # its drawing was refused: reported already
        why = _misplaced(key, diagram, shapes)
        if why is None:
            continue
        column, message = why
        if where is None:
            message = (
                f"the hotspot of ref {key[1]} on diagram {key[0]}, kept from the listed "
                f"release: {message}"
            )
        problems.add(HOTSPOTS.name, where, column, message)
    result.hotspots = placed
    return result


def _kept(version: DiagramVersion) -> _Diagram:
    return _Diagram(
        version.diagram_key,
        version.model_norm,
        None,
        version.chassis,
        version.title,
        version.file_name,
        version.drawing_sha256,
        None,
    )


def _drawing(
    source: ReleaseSource,
    problems: Problems,
    line: int,
    name: str,
    listed: DiagramVersion | None,
    read: dict[str, str | None],
    result: Plan,
    shapes: _Shapes,
    max_bytes: int,
) -> str:
    """The sha256 of the drawing a row names (reading, sanitising and measuring it once per
    file); ``""`` when it was refused (reported), so that its hotspots are not checked."""
    if name in read:
        return read[name] or ""
    try:
        data = source.read_drawing(name, max_bytes)
    except ReleaseFileDamaged as exc:
        problems.add(DIAGRAMS.name, line, "file", f"{name} {exc}")
        read[name] = None
        return ""
    if data is None:
        if listed is not None and listed.file_name == name:
            # The listed drawing stays: a release need not carry a drawing it does not change.
            read[name] = listed.drawing_sha256
            return listed.drawing_sha256
        problems.add(
            DIAGRAMS.name,
            line,
            "file",
            f"{name} is not in the release: put the drawing beside diagrams.csv",
        )
        read[name] = None
        return ""
    try:
        drawing = read_drawing(name, data, max_bytes=max_bytes)
    except DrawingRefused as exc:
        problems.add(DIAGRAMS.name, line, "file", f"{name} {exc}")
        read[name] = None
        return ""
    sha = hashlib.sha256(drawing.data).hexdigest()
    read[name] = sha
    result.drawings[sha] = (name, drawing)
    shapes.add(sha, drawing.media_type, drawing.box, drawing.element_ids)
    return sha


def _misplaced(key: HotspotKey, diagram: _Diagram, shapes: _Shapes) -> tuple[str, str] | None:
    """(column, message) when the hotspot is not on its diagram's drawing."""
    _d, _ref, x, y, w, h, element = key
    media_type, box = shapes.box(diagram.sha256)
    if element is not None:
        if media_type == PNG:
            return "element_id", (
                f"{diagram.file_name} is a PNG, which has no elements: give x, y, w and h"
            )
        if element not in shapes.ids(diagram.sha256):
            return "element_id", f"{diagram.file_name} has no element with id {element!r}"
        return None
    if x is None or y is None or w is None or h is None:
        return "x", "give x, y, w and h, or the element_id"
    if not box.holds(x, y, w, h):
        return "x", (
            f"the box {x:g} {y:g} {w:g} {h:g} lies outside the drawing {diagram.file_name} "
            f"({box}: x y width height)"
        )
    return None


# --- applying ------------------------------------------------------------------------------------


def _models_of_chassis(session: Session, chassis: Iterable[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    wanted = list(set(chassis))
    if wanted:
        rows = session.execute(
            select(ModelVersion.chassis, ModelVersion.number_norm).where(
                ModelVersion.valid_to.is_(None), ModelVersion.chassis.in_(wanted)
            )
        )
        for name, norm in rows:
            if name is not None:
                found[name].add(norm)
    return found


def _names_diagram(fitment_diagram: str | None, key: str, title: str) -> bool:
    """A fitment's ``diagram`` names this diagram: by id or title, or by naming none."""
    if not fitment_diagram:
        return True
    text = fitment_diagram.strip().casefold()
    return text in (key.casefold(), title.strip().casefold())


def _check_against_catalogue(session: Session, result: Plan, problems: Problems) -> None:
    """Models, chassis and reference numbers: known once the release's own rows apply."""
    diagrams = [d for d in result.diagrams.values() if d.line is not None]
    norms = {d.model_norm for d in diagrams if d.model_norm}
    known = (
        set(
            session.scalars(
                select(ModelVersion.number_norm).where(ModelVersion.number_norm.in_(norms))
            )
        )
        if norms
        else set()
    )
    by_chassis = _models_of_chassis(
        session, [d.chassis for d in result.diagrams.values() if d.chassis]
    )
    for d in diagrams:
        if d.model_norm and d.model_norm not in known:
            problems.add(
                DIAGRAMS.name,
                d.line,
                "model_number",
                f"model {d.model_number} is not in this release or an earlier one",
            )
        if d.chassis and not by_chassis.get(d.chassis):
            problems.add(
                DIAGRAMS.name, d.line, "chassis", f"no model listed has chassis {d.chassis}"
            )
    # Reference numbers of the hotspots in hotspots.csv.
    checked = [(k, line) for k, line in result.hotspots if line is not None]
    if not checked:
        return
    models_of: dict[str, set[str]] = {}
    for d in result.diagrams.values():
        models_of[d.key] = (
            {d.model_norm} if d.model_norm else by_chassis.get(d.chassis or "", set())
        )
    all_models = set().union(*models_of.values()) if models_of else set()
    refs: dict[str, set[str]] = defaultdict(set)
    if all_models:
        rows = session.execute(
            select(FitmentVersion.model_norm, FitmentVersion.ref_no, FitmentVersion.diagram).where(
                FitmentVersion.valid_to.is_(None),
                FitmentVersion.model_norm.in_(all_models),
                FitmentVersion.ref_no.is_not(None),
            )
        )
        fitted = rows.all()
        for d in result.diagrams.values():
            mine = models_of[d.key]
            refs[d.key] = {
                str(ref)
                for model, ref, named in fitted
                if model in mine and _names_diagram(named, d.key, d.title)
            }
    for key, line in checked:
        if key[1] not in refs[key[0]]:
            problems.add(
                HOTSPOTS.name,
                line,
                "ref_no",
                f"ref {key[1]} is not a fitment on diagram {key[0]}: fitments.csv gives no "
                "part at that ref_no for its model(s) and diagram",
            )


def _store_drawings(session: Session, result: Plan) -> None:
    """Insert the drawings not stored yet."""
    if not result.drawings:
        return
    stored = set(
        session.scalars(
            select(DrawingFile.sha256).where(DrawingFile.sha256.in_(list(result.drawings)))
        )
    )
    for sha, (_name, drawing) in result.drawings.items():
        if sha not in stored:
            store_drawing(session, drawing)


def store_drawing(session: Session, drawing: Drawing) -> str:
    """Store a sanitised drawing unless it is stored already; return its sha256.

    Two imports storing the same drawing at once are decided by the primary key: the second
    insert waits for the first to commit and then does nothing.
    """
    sha = hashlib.sha256(drawing.data).hexdigest()
    dialect = session.get_bind().dialect.name
    values = {
        "sha256": sha,
        "media_type": drawing.media_type,
        "box_x": drawing.box.x,
        "box_y": drawing.box.y,
        "box_width": drawing.box.width,
        "box_height": drawing.box.height,
        "size": len(drawing.data),
        "data": drawing.data,
        "stored_at": utcnow(),
    }
    if dialect == "postgresql":
        session.execute(pg_insert(DrawingFile).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite_insert(DrawingFile).values(values).on_conflict_do_nothing())
    else:
        session.execute(insert(DrawingFile).values(values))
    return sha


def apply(session: Session, result: Plan, problems: Problems, release_id: int) -> dict[str, Change]:
    """Check the plan against the catalogue as the release leaves it, then write what changed.

    :raises InvalidRelease: naming every problem.
    """
    _check_against_catalogue(session, result, problems)
    if problems:
        raise InvalidRelease(problems.all())
    _store_drawings(session, result)
    changes: dict[str, Change] = {}

    current = _current_diagrams(session)
    change = Change()
    for key, version in current.items():
        wanted = result.diagrams.get(key)
        if wanted is None or wanted.values() != _kept(version).values():
            version.valid_to = release_id
            if wanted is None:
                change.removed += 1
            else:
                change.changed += 1
    for key, wanted in result.diagrams.items():
        listed_version = current.get(key)
        if listed_version is not None and listed_version.valid_to is None:
            continue
        if listed_version is None:
            change.added += 1
        session.add(
            DiagramVersion(
                diagram_key=key,
                model_norm=wanted.model_norm,
                chassis=wanted.chassis,
                title=wanted.title,
                file_name=wanted.file_name,
                drawing_sha256=wanted.sha256,
                valid_from=release_id,
            )
        )
    changes[DIAGRAMS.name] = change

    # Hotspots as a multiset: a version stays when the release holds the same hotspot.
    wanted_hotspots = Counter(key for key, _line in result.hotspots)
    listed = _current_hotspots(session)
    before = {(h.diagram_key, h.ref_no) for h in listed}
    closed: set[tuple[str, str]] = set()
    for h in listed:
        spot = _hotspot_key(h)
        if wanted_hotspots[spot] > 0:
            wanted_hotspots[spot] -= 1
            continue
        closed.add((h.diagram_key, h.ref_no))
        session.execute(
            update(HotspotVersion).where(HotspotVersion.id == h.id).values(valid_to=release_id)
        )
    opened: set[tuple[str, str]] = set()
    for spot, count in wanted_hotspots.items():
        for _ in range(count):
            opened.add((spot[0], spot[1]))
            session.add(
                HotspotVersion(
                    diagram_key=spot[0],
                    ref_no=spot[1],
                    x=spot[2],
                    y=spot[3],
                    w=spot[4],
                    h=spot[5],
                    element_id=spot[6],
                    valid_from=release_id,
                )
            )
    # Counted by reference number on a diagram, as a technician sees them.
    after = {(k[0], k[1]) for k, _line in result.hotspots}
    changes[HOTSPOTS.name] = Change(
        added=len(after - before),
        removed=len(before - after),
        changed=len((closed | opened) & before & after),
    )
    session.flush()
    return {name: changes[name] for name in (DIAGRAMS.name, HOTSPOTS.name) if name in result.rows}


# --- questions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hotspot:
    ref_no: str
    x: float | None
    y: float | None
    w: float | None
    h: float | None
    element_id: str | None


@dataclass(frozen=True)
class Diagram:
    key: str
    title: str
    file_name: str
    sha256: str
    media_type: str
    box: Box
    hotspots: tuple[Hotspot, ...]
    model_norm: str | None
    chassis: str | None

    def names(self, fitment_diagram: str | None) -> bool:
        """Whether a fitment's ``diagram`` names this diagram."""
        return _names_diagram(fitment_diagram, self.key, self.title)


def _diagrams(session: Session, release: Release, *where: Any) -> list[Diagram]:
    versions = list(
        session.scalars(
            select(DiagramVersion)
            .where(DiagramVersion.as_of(release.id), *where)
            .order_by(DiagramVersion.title, DiagramVersion.diagram_key)
        )
    )
    if not versions:
        return []
    keys = [v.diagram_key for v in versions]
    spots: dict[str, list[Hotspot]] = defaultdict(list)
    for h in session.scalars(
        select(HotspotVersion)
        .where(HotspotVersion.as_of(release.id), HotspotVersion.diagram_key.in_(keys))
        .order_by(HotspotVersion.id)
    ):
        spots[h.diagram_key].append(Hotspot(h.ref_no, h.x, h.y, h.w, h.h, h.element_id))
    files = {
        f.sha256: f
        for f in session.execute(
            select(
                DrawingFile.sha256,
                DrawingFile.media_type,
                DrawingFile.box_x,
                DrawingFile.box_y,
                DrawingFile.box_width,
                DrawingFile.box_height,
            ).where(DrawingFile.sha256.in_({v.drawing_sha256 for v in versions}))
        )
    }
    result = []
    for v in versions:
        f = files[v.drawing_sha256]
        result.append(
            Diagram(
                key=v.diagram_key,
                title=v.title,
                file_name=v.file_name,
                sha256=v.drawing_sha256,
                media_type=f.media_type,
                box=Box(f.box_x, f.box_y, f.box_width, f.box_height),
                hotspots=tuple(spots[v.diagram_key]),
                model_norm=v.model_norm,
                chassis=v.chassis,
            )
        )
    return result


def model_diagrams(
    session: Session, model_norm: str, chassis: str | None, *, release: Release
) -> list[Diagram]:
    """The diagrams of a model (its own, and its chassis's), as of ``release``."""
    where: ColumnElement[bool] = DiagramVersion.model_norm == model_norm
    if chassis:
        where = or_(where, DiagramVersion.chassis == chassis)
    return _diagrams(session, release, where)


def diagrams_for_models(
    session: Session, models: dict[str, str | None], *, release: Release
) -> dict[str, list[Diagram]]:
    """For each model (its number in normal form → its chassis), its diagrams."""
    if not models:
        return {}
    chassis = {c for c in models.values() if c}
    where: ColumnElement[bool] = DiagramVersion.model_norm.in_(list(models))
    if chassis:
        where = or_(where, DiagramVersion.chassis.in_(list(chassis)))
    found = _diagrams(session, release, where)
    return {
        norm: [d for d in found if d.model_norm == norm or (c and d.chassis == c)]
        for norm, c in models.items()
    }


def drawing_file(session: Session, sha256: str) -> DrawingFile | None:
    return session.get(DrawingFile, sha256)


def ref_number_query(text: str) -> tuple[str, str] | None:
    """``(model, ref_no)`` when ``text`` asks for a reference number of a model:
    ``kdl-55w800c ref 251``, ``KDL-55W800C ref. 251``, ``kdl-55w800c #251``."""
    match = _REF_QUERY.match(text.strip())
    if match is None or not normalise(match["model"]):
        return None
    return match["model"], match["ref"]


_REF_QUERY = re.compile(
    r"^(?P<model>\S+)\s+(?:ref(?:erence)?\.?\s*(?:no\.?\s*)?|#\s*)(?P<ref>[A-Za-z0-9-]{1,20})$",
    re.IGNORECASE,
)
