"""Importing a release: validate everything, then apply it whole, or nothing at all.

The files are streamed into temporary staging tables (memory stays flat whatever the release's
size); checks that span rows run as SQL over them; only then are versions written, as set-based
statements that close what changed or went and insert what is new. An unchanged row costs a
comparison, not a write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    and_,
    exists,
    false,
    func,
    insert,
    inspect,
    intersect,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, CreateTable, DropIndex, DropTable
from sqlalchemy.sql.visitors import InternalTraversal

from parts_catalog import diagrams, resolutions
from parts_catalog.bulk import streaming_writer, writer
from parts_catalog.errors import InvalidRelease, TooManyDrops
from parts_catalog.models import (
    DELTA,
    RELEASE_KINDS,
    SNAPSHOT,
    FitmentVersion,
    ModelVersion,
    PartVersion,
    Release,
    StockLevel,
    SupersessionVersion,
)
from parts_catalog.release_files import (
    DIAGRAMS,
    FITMENTS,
    HOTSPOTS,
    MODELS,
    PARTS,
    SPECS,
    SUPERSESSIONS,
    ArchiveLimits,
    FileSpec,
    Problems,
    ReleaseSource,
    Row,
    convert_fitment,
    convert_model,
    convert_part,
    convert_supersession,
    read_batches,
)
from parts_catalog.search_index import queue_release_changes
from parts_catalog.sqltypes import utcnow
from parts_catalog.supersession import find_cycles

BATCH = 20_000
SQLITE_CACHE = -65536  # app.db's setting for every SQLite connection, restored after an import
Progress = Callable[[str], None]

_stage = MetaData()


def _temp(name: str, *columns: Column[Any]) -> Table:
    return Table(
        name,
        _stage,
        Column("line", Integer),
        Column("digest", BigInteger),
        *columns,
        # A delta's ``action=drop`` row: its key names the version to close (see ``_mark_drops``).
        Column("dropped", Boolean, nullable=False, server_default=false()),
        # Set while applying: the row's key already has a current version (see ``_apply``).
        Column("has_current", Boolean, nullable=False, server_default=false()),
        prefixes=["TEMPORARY"],
    )


def _n(name: str) -> Column[Any]:
    return Column(name, String(40))


stage_parts = _temp(
    "stage_parts",
    _n("number_norm"),
    _n("number"),
    Column("description", String(255)),
    Column("category", String(80)),
    Column("unit_price", Numeric(12, 2)),
    Column("currency", String(3)),
    Column("status", String(16)),
    Column("stock_qty", Integer),
    Column("safety_critical", Boolean),
)
stage_models = _temp(
    "stage_models",
    _n("number_norm"),
    _n("number"),
    Column("name", String(255)),
    Column("product_line", String(40)),
    Column("chassis", String(40)),
    Column("released_on", Date),
    Column("support_ends_on", Date),
    Column("exchange_value", Numeric(12, 2)),
)
_FITMENT_KEY = ("model_norm", "part_norm", "ref_no", "diagram", "serial_from", "serial_to")
_SUPERSESSION_KEY = ("old_norm", "new_norm", "serial_from", "serial_to")
stage_fitments = _temp(
    "stage_fitments",
    _n("model_norm"),
    _n("part_norm"),
    _n("model_number"),
    _n("part_number"),
    Column("ref_no", String(20)),
    Column("diagram", String(80)),
    Column("quantity", Integer),
    _n("serial_from"),
    _n("serial_to"),
)
stage_supersessions = _temp(
    "stage_supersessions",
    _n("old_norm"),
    _n("new_norm"),
    _n("old_number"),
    _n("new_number"),
    Column("quantity", Integer),
    Column("interchangeability", String(16)),
    Column("effective_on", Date),
    _n("serial_from"),
    _n("serial_to"),
    Column("note", Text),
)
#: Digests of current versions that the release did not repeat: changed or gone.
stage_gone = Table(
    "stage_gone",
    _stage,
    Column("kind", String(20)),
    Column("digest", BigInteger),
    prefixes=["TEMPORARY"],
)
Index("ix_stage_gone_digest", stage_gone.c.digest)
# Indexed after loading (see ``_load``): building an index once beats updating it per row.
Index("ix_stage_parts_number_norm", stage_parts.c.number_norm)
Index("ix_stage_models_number_norm", stage_models.c.number_norm)
# On a row's whole key, then its line: checking for rows named twice reads the index alone, in
# order (no sort, no look-up of the rows); the key's first columns still find a model's rows.
Index("ix_stage_fitments_key", *(stage_fitments.c[k] for k in _FITMENT_KEY), stage_fitments.c.line)
Index("ix_stage_fitments_part_norm", stage_fitments.c.part_norm)
Index(
    "ix_stage_supersessions_key",
    *(stage_supersessions.c[k] for k in _SUPERSESSION_KEY),
    stage_supersessions.c.line,
)
Index("ix_stage_supersessions_new_norm", stage_supersessions.c.new_norm)


def _create_staging(conn: Connection) -> None:
    _drop_staging(conn)
    for table in _stage.sorted_tables:
        conn.execute(CreateTable(table))  # without its indexes; ``_load`` adds them


def _drop_staging(conn: Connection) -> None:
    for table in _stage.sorted_tables:
        conn.execute(DropTable(table, if_exists=True))


@dataclass(frozen=True)
class _Target:
    """How one staged file becomes versions: which columns identify a row, which carry values."""

    spec: FileSpec
    stage: Table
    model: type[PartVersion] | type[ModelVersion] | type[FitmentVersion] | type[SupersessionVersion]
    key: tuple[str, ...]
    values: tuple[str, ...]
    convert: Callable[[dict[str, str], Callable[[str, str], None]], Row | None]


TARGETS = (
    _Target(
        PARTS,
        stage_parts,
        PartVersion,
        ("number_norm",),
        (
            "number",
            "description",
            "category",
            "unit_price",
            "currency",
            "status",
            "safety_critical",
        ),
        convert_part,
    ),
    _Target(
        MODELS,
        stage_models,
        ModelVersion,
        ("number_norm",),
        (
            "number",
            "name",
            "product_line",
            "chassis",
            "released_on",
            "support_ends_on",
            "exchange_value",
        ),
        convert_model,
    ),
    _Target(
        FITMENTS,
        stage_fitments,
        FitmentVersion,
        _FITMENT_KEY,
        ("quantity",),
        convert_fitment,
    ),
    _Target(
        SUPERSESSIONS,
        stage_supersessions,
        SupersessionVersion,
        _SUPERSESSION_KEY,
        ("quantity", "interchangeability", "effective_on", "note"),
        convert_supersession,
    ),
)


@dataclass
class Change:
    added: int = 0
    removed: int = 0
    changed: int = 0


@dataclass
class ImportReport:
    label: str
    dry_run: bool
    kind: str = SNAPSHOT
    rows: dict[str, int] = field(default_factory=dict)
    carried_over: list[str] = field(default_factory=list)
    changes: dict[str, Change] = field(default_factory=dict)
    release_id: int | None = None
    #: Parts listed once the release applies.
    listed: int = 0
    #: Numbers whose resolution this release changed (or set, on a first release).
    resolved: int = 0

    def summary_line(self) -> str:
        verb = "Valid; would import" if self.dry_run else "Imported"
        counts = ", ".join(f"{n:,} {name.removesuffix('.csv')}" for name, n in self.rows.items())
        parts = self.changes.get("parts.csv", Change())
        return (
            f"{verb} release {self.label} ({self.kind}): {counts}; parts +{parts.added:,} "
            f"-{parts.removed:,} ~{parts.changed:,}."
        )


@dataclass(frozen=True)
class _Mode:
    """What the release's kind changes in how versions are matched."""

    delta: bool
    #: Lines of each file's ``action=drop`` rows (deltas only).
    drops: dict[str, set[int]] = field(default_factory=dict)


def import_release(
    session: Session,
    *,
    path: Path,
    label: str,
    kind: str = SNAPSHOT,
    imported_by: str | None = None,
    dry_run: bool = False,
    allow_drops: bool | int = False,
    max_drop_share: float = 0.05,
    limits: ArchiveLimits | None = None,
    diagram_max_bytes: int = diagrams.DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate the release at ``path`` and, unless ``dry_run``, add it as release ``label``.

    A ``SNAPSHOT`` lists every part: what it leaves out is delisted. A ``DELTA`` changes only
    the rows it names, and delists those marked ``action=drop``.
    Runs in a savepoint: on any problem, or with ``dry_run``, nothing is left behind.

    :param allow_drops: a snapshot delisting more than ``max_drop_share`` of the listed parts
        is refused unless confirmed: ``True`` confirms any number, a number confirms that many.
    :raises TooManyDrops: for such a snapshot, unconfirmed.
    :raises InvalidRelease: naming every problem, with file, line and column.
    """
    if kind not in RELEASE_KINDS:
        raise ValueError(f"kind must be one of {RELEASE_KINDS}, not {kind!r}")
    mode = _Mode(delta=kind == DELTA)
    say = progress or (lambda _message: None)
    problems = Problems()
    label = label.strip()
    if not label or len(label) > 64:
        problems.add("", None, None, "the release label must be 1 to 64 characters")
    elif session.scalar(select(Release.id).where(Release.label == label)) is not None:
        problems.add(
            "", None, None, f"a release labelled {label!r} exists already; labels are for ever"
        )
    source = ReleaseSource(path, problems, limits)
    if source.refused:
        source.close()
        raise InvalidRelease(problems.all())
    report = ImportReport(label=label, dry_run=dry_run, kind=kind)
    repeated: dict[str, int] = {}  # rows per file that repeat a current version unchanged
    savepoint = session.begin_nested()
    try:
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            # A 256 MiB page cache while importing (index updates on millions of rows); the
            # connection goes back to its usual cache afterwards.
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
        else:
            # Memory for the checks' sorts and hashes and for building indexes, in this
            # transaction only: the defaults (4 MiB, 64 MiB) spill millions of rows to disk.
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            # Millions of staged rows make every statement look costly enough to compile (JIT),
            # which takes longer than the statements it would speed up, each run once.
            conn.exec_driver_sql("SET LOCAL jit = off")
        _create_staging(conn)
        for target in TARGETS:
            name = target.spec.name
            if not source.has(name) and (mode.delta or not target.spec.file_required):
                report.carried_over.append(name)
                continue
            rows, repeated[name] = _load(conn, source, target, problems, say, mode)
            report.rows[name] = rows
        # Exploded views: read and checked on their own here, against the catalogue once the
        # rows above apply (``diagrams.apply``).
        say("Reading diagrams, hotspots and drawings")
        views = diagrams.plan(
            session, source, problems, delta=mode.delta, max_bytes=diagram_max_bytes
        )
        if views is not None:
            report.rows.update(views.rows)
            report.carried_over.extend(views.carried_over)
        elif diagrams.any_listed(session):
            report.carried_over.extend((DIAGRAMS.name, HOTSPOTS.name))
        if mode.delta and not report.rows and not problems:
            names = ", ".join(spec.name for spec in SPECS)
            problems.add("", None, None, f"A delta names at least one of {names}.")
        if not problems:
            _analyze(conn)
            _check(conn, problems, say, repeated, mode)
        if problems:
            raise InvalidRelease(problems.all())
        if not mode.delta:
            _refuse_unconfirmed_drops(conn, allow_drops, max_drop_share)
        release = Release(
            label=label,
            kind=kind,
            imported_at=utcnow(),
            imported_by=imported_by,
            source=path.name[:255],
        )
        session.add(release)
        session.flush()
        report.release_id = release.id
        for target in TARGETS:
            if target.spec.name in report.rows:
                say(f"Applying {target.spec.name}")
                report.changes[target.spec.name] = _apply(conn, target, release.id, mode)
        if "parts.csv" in report.rows:
            _apply_stock(conn)
        if views is not None:
            say("Applying diagrams and hotspots")
            for name, change in diagrams.apply(session, views, problems, release.id).items():
                report.changes[name] = Change(change.added, change.removed, change.changed)
        previous = session.scalar(
            select(Release.precomputed).where(Release.id < release.id).order_by(Release.id.desc())
        )
        # A release after one that kept no answers (or the first) resolves every number.
        refreshed = resolutions.refresh(conn, release, full=not previous, progress=say)
        release.precomputed = True
        report.resolved = refreshed.changed
        report.listed = _listed(conn)
        release.summary = {
            "parts_listed": report.listed,
            **{f"{name.removesuffix('.csv')}_rows": n for name, n in report.rows.items()},
            **{
                f"{name.removesuffix('.csv')}_{kind}": getattr(change, kind)
                for name, change in report.changes.items()
                for kind in ("added", "removed", "changed")
            },
        }
        _drop_staging(conn)
        # In this transaction, so that the index's queue commits (or not) with the release.
        queue_release_changes(session, release.id)
        session.flush()
    except BaseException:
        savepoint.rollback()
        raise
    finally:
        source.close()
        if session.get_bind().dialect.name == "sqlite":
            session.connection().exec_driver_sql(f"PRAGMA cache_size={SQLITE_CACHE}")
    if dry_run:
        savepoint.rollback()
        report.release_id = None
    else:
        savepoint.commit()
    return report


def _load(
    conn: Connection,
    source: ReleaseSource,
    target: _Target,
    problems: Problems,
    say: Progress,
    mode: _Mode,
) -> tuple[int, int]:
    """Stage the rows of one file that differ from the current versions (a snapshot), or every
    row of the file (a delta).

    :returns: the file's rows, and how many of them repeat a current version unchanged (for a
        delta, 0: they are staged and recognised by their values when applied).
    """
    current: dict[int, bool] = {}
    if not mode.delta:
        # A snapshot repeats nearly every current version: their digests spare parsing and
        # staging its unchanged rows. A delta names the few rows that change, and reading every
        # current digest (4.25 million at 1M parts: 3 s on PostgreSQL) cost more than staging a
        # row it repeats unchanged, which ends nothing and adds nothing (see ``_gone``).
        current = _current_digests(conn, target.model)
    before = len(current)
    drops = mode.drops.setdefault(target.spec.name, set()) if mode.delta else None
    batch: list[tuple[Any, ...]] = []
    staged = 0
    with streaming_writer(conn, target.stage) as write:
        for rows in read_batches(
            source, target.spec, problems, target.convert, unchanged=current, drops=drops
        ):
            batch.extend(rows)
            if len(batch) >= BATCH:
                staged += len(batch)
                # Once the release is known to be bad, keep reading for problems but stop
                # writing.
                if not problems:
                    write(batch)
                batch = []
                say(f"{target.spec.name}: {staged:,} rows changed or new")
        staged += len(batch)
        if batch and not problems:
            write(batch)
    if mode.delta and not problems:
        for start in range(0, len(drops or ()), 500):
            lines = sorted(drops or ())[start : start + 500]
            conn.execute(
                update(target.stage).where(target.stage.c.line.in_(lines)).values(dropped=True)
            )
    elif current and not problems:
        writer(conn, stage_gone)([(target.spec.name, digest) for digest in current])
    if conn.dialect.name == "sqlite":
        # SQLite's plans over the staged rows probe these indexes; PostgreSQL hashes the staged
        # rows instead, and building the indexes took it longer than the checks themselves.
        for index in target.stage.indexes:
            conn.execute(CreateIndex(index))
    repeated = before - len(current)
    if mode.delta:
        say(f"{target.spec.name}: {staged:,} rows")  # which of them change is known when applied
    else:
        say(f"{target.spec.name}: {staged + repeated:,} rows, {staged:,} changed or new")
    return staged + repeated, repeated


def _current_digests(conn: Connection, model: type[Any]) -> dict[int, bool]:
    """The digests of the current versions, as keys."""
    # Straight from the (valid_to, row_digest) index through the driver's own cursor: millions
    # of small integers, which SQLAlchemy's result rows would take twice as long to hand over.
    digests = select(model.row_digest).where(
        model.valid_to.is_(None), model.row_digest.is_not(None)
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(digests.compile(conn)))
        return dict.fromkeys(chain.from_iterable(cursor), True)
    finally:
        cursor.close()


def _analyze(conn: Connection) -> None:
    """Give the query planner statistics of the staged rows and the versions.

    Without them SQLite may walk an index on ``valid_to`` (a million current rows) where the one
    on the number finds a row at once, and PostgreSQL never analyses temporary tables itself.
    """
    tables = [t.name for t in _stage.sorted_tables] + [t.model.__tablename__ for t in TARGETS]
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")  # sample, do not scan, big indexes
    for table in tables:
        conn.exec_driver_sql(f"ANALYZE {table}")


def _check(
    conn: Connection, problems: Problems, say: Progress, repeated: dict[str, int], mode: _Mode
) -> None:
    """Checks that span rows or need what earlier releases hold."""
    say("Checking numbers, duplicates and cycles")
    for target, column, kind in (
        (TARGETS[0], "part_number", "part"),
        (TARGETS[1], "model_number", "model"),
        (TARGETS[2], "part_number", "fitment"),
        (TARGETS[3], "new_part_number", "supersession"),
    ):
        if target.spec.name in repeated:
            _duplicates(
                conn, problems, target, column, kind, repeated=repeated[target.spec.name], mode=mode
            )
    if mode.delta:
        _drops_not_listed(conn, problems)
    unknown_part = _unknown(stage_parts, PartVersion)
    unknown_model = _unknown(stage_models, ModelVersion)
    for stage, norm, number, file, column, unknown_in, kind in (
        (
            stage_fitments,
            "model_norm",
            "model_number",
            "fitments.csv",
            "model_number",
            unknown_model,
            "model",
        ),
        (
            stage_fitments,
            "part_norm",
            "part_number",
            "fitments.csv",
            "part_number",
            unknown_part,
            "part",
        ),
        (
            stage_supersessions,
            "old_norm",
            "old_number",
            "supersessions.csv",
            "old_part_number",
            unknown_part,
            "part",
        ),
        (
            stage_supersessions,
            "new_norm",
            "new_number",
            "supersessions.csv",
            "new_part_number",
            unknown_part,
            "part",
        ),
    ):
        # Each number once (read from an index on it), then the lines of the numbers not known.
        numbers = select(stage.c[norm].label("norm")).distinct().subquery()
        missing = select(numbers.c.norm).where(*unknown_in(numbers.c.norm))
        unknown = select(stage.c.line, stage.c[number]).where(
            stage.c[norm].in_(missing), stage.c.dropped.is_(False)
        )
        for line, spelled in conn.execute(unknown.order_by(stage.c.line)):
            problems.add(
                file, line, column, f"{kind} {spelled} is not in this release or an earlier one"
            )
    _cycles(conn, problems, mode)


def _drops_not_listed(conn: Connection, problems: Problems) -> None:
    """A delta's drop must name a row that is there to drop."""
    named: tuple[tuple[_Target, str, Callable[[Any], str]], ...] = (
        (TARGETS[0], "part_number", lambda r: f"part {r.number}"),
        (TARGETS[1], "model_number", lambda r: f"model {r.number}"),
        (
            TARGETS[2],
            "part_number",
            lambda r: (
                f"fitment of {r.part_number} to {r.model_number}"
                + (f" (ref {r.ref_no})" if r.ref_no else "")
            ),
        ),
        (
            TARGETS[3],
            "old_part_number",
            lambda r: f"supersession of {r.old_number} by {r.new_number}",
        ),
    )
    for target, column, what in named:
        stage, model = target.stage, target.model
        listed = exists().where(model.valid_to.is_(None), _same(model, stage, target.key))
        query = select(stage).where(stage.c.dropped.is_(True), not_(listed)).order_by(stage.c.line)
        for row in conn.execute(query):
            problems.add(
                target.spec.name, row.line, column, f"{what(row)} is not listed: nothing to drop"
            )


def _cycles(conn: Connection, problems: Problems, mode: _Mode) -> None:
    """Cycles among the release's supersessions: the staged rows and the repeated ones (for a
    delta: every current row it does not change or drop)."""
    staged = conn.execute(
        select(
            stage_supersessions.c.old_norm,
            stage_supersessions.c.new_norm,
            stage_supersessions.c.old_number,
            stage_supersessions.c.line,
        ).where(stage_supersessions.c.dropped.is_(False))
    ).all()
    if not staged:
        return  # the rows repeated unchanged were checked when they came
    repeated = conn.execute(
        select(SupersessionVersion.old_norm, SupersessionVersion.new_norm).where(
            SupersessionVersion.valid_to.is_(None),
            not_(_gone(TARGETS[3], mode)),
        )
    ).all()
    spelled = {old: number for old, _new, number, _line in staged}
    first_line: dict[str, int] = {}
    for old, _new, _number, line in staged:
        first_line.setdefault(old, line)
    edges = [(old, new) for old, new, _n, _l in staged] + [(old, new) for old, new in repeated]
    for cycle in find_cycles(edges, roots=[old for old, _new, _n, _l in staged]):
        names = [spelled.get(n) or _spelling(conn, n) for n in cycle]
        lines = [first_line[n] for n in cycle if n in first_line]
        problems.add(
            "supersessions.csv",
            min(lines) if lines else None,
            None,
            "supersessions form a cycle: " + " → ".join([*names, names[0]]),
        )


def _spelling(conn: Connection, norm: str) -> str:
    """A part number as this release, or else the last one listing it, spells it."""
    staged = conn.scalar(select(stage_parts.c.number).where(stage_parts.c.number_norm == norm))
    if staged:
        return str(staged)
    latest = conn.scalar(
        select(PartVersion.number)
        .where(PartVersion.number_norm == norm)
        .order_by(PartVersion.valid_from.desc())
        .limit(1)
    )
    return str(latest) if latest else norm


class _Likely(ColumnElement[bool]):
    """A condition true for nearly every row, said so to SQLite's planner (its ``likely()``).

    A delta's statements join a few thousand staged rows to millions of current versions: told
    nothing, SQLite's planner took ``valid_to IS NULL`` as selective, walked every current
    version by that index and probed the staged rows (4.5 s for 30,000 fitments at 3,000,000),
    where starting from the staged rows takes a probe each. Other databases get the condition
    as it is."""

    # The condition is part of the statement's cache key (without this, two conditions would
    # share one compiled form). SQLAlchemy's base declares it as an instance attribute, so it
    # cannot be a ClassVar here.
    _traverse_internals = [("condition", InternalTraversal.dp_clauseelement)]  # noqa: RUF012
    inherit_cache = True

    def __init__(self, condition: ColumnElement[bool]) -> None:
        self.condition = condition


@compiles(_Likely)
def _plain(element: _Likely, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.condition, **kw)})"


@compiles(_Likely, "sqlite")
def _sqlite_likely(element: _Likely, compiler: Any, **kw: Any) -> str:
    return f"likely({compiler.process(element.condition, **kw)})"


def _gone(target: _Target, mode: _Mode) -> ColumnElement[bool]:
    """The current version ends with the release being imported.

    A snapshot ends every version whose row it does not repeat. A version without a digest
    (imported before digests were kept) is never recognised as repeated: the release's row
    replaces it, or refreshes its digest if nothing changed.
    A delta ends the versions whose key a row names: to drop it, or with other values.
    """
    model, file = target.model, target.spec.name
    if mode.delta:
        stage = target.stage
        ends = (
            select(model.id)
            .join(stage, _same(model, stage, target.key))
            .where(
                _Likely(model.valid_to.is_(None)),
                or_(stage.c.dropped.is_(True), not_(_same(model, stage, target.values))),
            )
        )
        return model.id.in_(ends)
    gone: ColumnElement[bool] = or_(
        model.row_digest.is_(None),
        model.row_digest.in_(select(stage_gone.c.digest).where(stage_gone.c.kind == file)),
    )
    return gone


def _unknown(
    stage: Table, model: type[PartVersion] | type[ModelVersion]
) -> Callable[[ColumnElement[Any]], tuple[ColumnElement[bool], ...]]:
    """Conditions (all to hold) that a number is neither staged nor in any release: two NOT
    EXISTS, which PostgreSQL runs as anti-joins (NOT of an OR of EXISTS it cannot)."""

    def unknown(norm: ColumnElement[Any]) -> tuple[ColumnElement[bool], ...]:
        return (
            ~exists().where(stage.c.number_norm == norm),
            ~exists().where(model.number_norm == norm),
        )

    return unknown


def _duplicates(
    conn: Connection,
    problems: Problems,
    target: _Target,
    column: str,
    kind: str,
    *,
    repeated: int,
    mode: _Mode,
) -> None:
    """Rows naming the same thing twice: among the changed rows, or a changed row repeating the
    key of a row the release repeats unchanged."""
    stage, key, file = target.stage, target.key, target.spec.name
    columns = [stage.c[k] for k in key]
    if conn.dialect.name == "postgresql":
        # Each row beside the first line of its key, in one pass over the rows: a window's
        # partitions, like GROUP BY, put NULLs together. (The join back from the grouped keys
        # below needs IS NOT DISTINCT FROM, which PostgreSQL can only run as a nested loop.)
        window = select(
            stage.c.line, func.min(stage.c.line).over(partition_by=columns).label("first_line")
        ).subquery()
        query = (
            select(window.c.line, window.c.first_line)
            .where(window.c.line != window.c.first_line)
            .order_by(window.c.line)
        )
    else:
        # SQLite groups from the staged key's index, in order, and finds each repeated key's
        # rows in it again (IS matches NULLs and uses the index): quicker than its window.
        first = (
            select(*columns, func.min(stage.c.line).label("first_line"))
            .group_by(*columns)
            .having(func.count() > 1)
            .subquery()
        )
        match = and_(*(stage.c[k].is_not_distinct_from(first.c[k]) for k in key))
        query = (
            select(stage.c.line, first.c.first_line)
            .join(first, match)
            .where(stage.c.line != first.c.first_line)
            .order_by(stage.c.line)
        )
    same_thing = "numbers match once spaces, dashes, dots and slashes are ignored"
    for line, first_line in conn.execute(query):
        if kind in ("part", "model"):
            message = f"the same {kind} as line {first_line} ({same_thing})"
        else:
            message = f"repeats the {kind} on line {first_line}"
        problems.add(file, line, column, message)
    if not repeated:
        return  # no row was repeated unchanged (a delta stages them all, checked above)
    model = target.model
    was_repeated = not_(_gone(target, mode))
    # Correlated from the staged side, so the (few) changed rows probe the versions' key index.
    unchanged_twin = exists().where(
        model.valid_to.is_(None), _same(model, stage, key), was_repeated
    )
    for (line,) in conn.execute(select(stage.c.line).where(unchanged_twin).order_by(stage.c.line)):
        if kind in ("part", "model"):
            message = f"the same {kind} as another line of this file ({same_thing})"
        else:
            message = f"repeats a {kind} on another line of this file"
        problems.add(file, line, column, message)


def _same(model: type[Any], stage: Table, columns: Sequence[str]) -> ColumnElement[bool]:
    """Version and staged row agree on ``columns``; NULLs match NULLs.

    Plain ``=`` where the column cannot be NULL, so that the databases use their indexes.
    """
    terms = []
    for name in columns:
        mine, theirs = getattr(model, name), stage.c[name]
        nullable = model.__table__.c[name].nullable
        terms.append(mine.is_not_distinct_from(theirs) if nullable else mine == theirs)
    return and_(*terms)


def _apply(conn: Connection, target: _Target, release_id: int, mode: _Mode) -> Change:
    model, stage = target.model, target.stage
    current = model.valid_to.is_(None)
    gone = _gone(target, mode)
    if not mode.delta:
        same_row = _same(model, stage, (*target.key, *target.values))
        # A row that differs only in text that does not matter (spacing, say) keeps its
        # version. UPDATE ... FROM (SQLite 3.33+, PostgreSQL): a join the planner can start
        # from either side. (A delta never ends such a version: see ``_gone``.)
        conn.execute(update(model).where(current, gone, same_row).values(row_digest=stage.c.digest))
    # Every other version the release did not repeat is changed or gone: it ends here.
    conn.execute(update(model).where(current, gone).values(valid_to=release_id))
    # A version for every staged row that now has no current version (new or changed). Marked
    # first, so that the INSERT does not read the table it writes: PostgreSQL would rescan the
    # rows the statement adds, once per staged row.
    conn.execute(
        update(stage)
        .where(exists().where(current, _same(model, stage, target.key)))
        .values(has_current=True)
    )
    columns = [*target.key, *target.values]
    rebuild = _drop_indexes_if_empty(conn, model.__table__)  # type: ignore[arg-type]
    conn.execute(
        insert(model).from_select(
            [*columns, "row_digest", "valid_from"],
            select(*(stage.c[c] for c in columns), stage.c.digest, literal(release_id)).where(
                stage.c.has_current.is_(False), stage.c.dropped.is_(False)
            ),
        )
    )
    for index in rebuild:
        conn.execute(CreateIndex(index))
    return _change(conn, target, release_id)


def _drop_indexes_if_empty(conn: Connection, table: Table) -> list[Index]:
    """Drop the indexes of ``table`` if it has no rows yet (a first release): building an index
    once, sorted, after the rows are in beats updating it row by row - several times over for
    millions of fitments. Returns the indexes to build again; the drop is part of the import's
    transaction, so a refused import leaves them as they were."""
    if conn.scalar(select(literal(1)).select_from(table).limit(1)) is not None:
        return []
    present = {index["name"] for index in inspect(conn).get_indexes(table.name)}
    dropped = [index for index in table.indexes if index.name in present]
    for index in dropped:
        conn.execute(DropIndex(index))
    return dropped


def _change(conn: Connection, target: _Target, release_id: int) -> Change:
    model = target.model
    added_rows = conn.scalar(select(func.count()).where(model.valid_from == release_id)) or 0
    closed_rows = conn.scalar(select(func.count()).where(model.valid_to == release_id)) or 0
    changed = 0
    if added_rows and closed_rows:
        # A changed row is a new version whose key also names a version this release closed
        # (keys are unique among a release's versions). A set intersection (NULLs match, as in
        # the keys) hashes or sorts both sides: a correlated look-up let PostgreSQL, whose
        # statistics predate the release, probe all closed versions once per new one.
        keys = [getattr(model, k) for k in target.key]
        both = intersect(
            select(*keys).where(model.valid_from == release_id),
            select(*keys).where(model.valid_to == release_id),
        ).subquery()
        changed = conn.scalar(select(func.count()).select_from(both)) or 0
    return Change(added=added_rows - changed, removed=closed_rows - changed, changed=changed)


def _listed(conn: Connection) -> int:
    return conn.scalar(select(func.count()).where(PartVersion.valid_to.is_(None))) or 0


def _refuse_unconfirmed_drops(conn: Connection, allow_drops: bool | int, share: float) -> None:
    """A snapshot delists every part it leaves out: refuse to delist more than ``share`` of the
    listed parts unless ``allow_drops`` confirms it (a three-part file is a delta, not the end
    of the catalogue)."""
    if allow_drops is True:
        return
    listed = _listed(conn)
    if not listed:
        return
    current = PartVersion.valid_to.is_(None)
    staged = exists().where(stage_parts.c.number_norm == PartVersion.number_norm)
    dropping = (
        conn.scalar(
            select(func.count()).where(current, _gone(TARGETS[0], _Mode(False)), not_(staged))
        )
        or 0
    )
    if dropping > share * listed and dropping > int(allow_drops):
        raise TooManyDrops(dropping=dropping, listed=listed, share=share)


def _apply_stock(conn: Connection) -> None:
    """Stock levels start from a release's ``stock_qty``; after that they belong to ordering
    (reservations), and a release never overwrites them, which would undo reservations."""
    conn.execute(
        insert(StockLevel).from_select(
            ["number_norm", "quantity"],
            select(stage_parts.c.number_norm, stage_parts.c.stock_qty).where(
                stage_parts.c.stock_qty.is_not(None),
                stage_parts.c.dropped.is_(False),
                not_(exists().where(StockLevel.number_norm == stage_parts.c.number_norm)),
            ),
        )
    )
