"""Importing a release: validate everything, then apply it whole, or nothing at all.

The files are streamed into temporary staging tables (memory stays flat whatever the release's
size); checks that span rows run as SQL over them; only then are versions written, as set-based
statements that close what changed or went and insert what is new. An unchanged row costs a
comparison, not a write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import (
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
    func,
    insert,
    literal,
    not_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable

from parts_catalog.errors import InvalidRelease
from parts_catalog.models import (
    FitmentVersion,
    ModelVersion,
    PartVersion,
    Release,
    StockLevel,
    SupersessionVersion,
)
from parts_catalog.release_files import (
    FITMENTS,
    MODELS,
    PARTS,
    SUPERSESSIONS,
    FileSpec,
    Problems,
    ReleaseSource,
    Row,
    convert_fitment,
    convert_model,
    convert_part,
    convert_supersession,
    read_rows,
)
from parts_catalog.sqltypes import utcnow
from parts_catalog.supersession import find_cycles

BATCH = 20_000
Progress = Callable[[str], None]

_stage = MetaData()


def _temp(name: str, *columns: Column[Any]) -> Table:
    return Table(name, _stage, Column("line", Integer), *columns, prefixes=["TEMPORARY"])


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


def _create_staging(conn: Connection) -> None:
    _drop_staging(conn)
    for table in _stage.sorted_tables:
        conn.execute(CreateTable(table))  # without its indexes; ``_load`` adds them


def _drop_staging(conn: Connection) -> None:
    for table in _stage.sorted_tables:
        conn.execute(DropTable(table, if_exists=True))


for _table, _columns in (
    (stage_parts, ("number_norm",)),
    (stage_models, ("number_norm",)),
    (stage_fitments, ("model_norm", "part_norm")),
    (stage_supersessions, ("old_norm", "new_norm")),
):
    for _column in _columns:
        Index(f"ix_{_table.name}_{_column}", _table.c[_column])


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
        ("model_norm", "part_norm", "ref_no", "diagram", "serial_from", "serial_to"),
        ("quantity",),
        convert_fitment,
    ),
    _Target(
        SUPERSESSIONS,
        stage_supersessions,
        SupersessionVersion,
        ("old_norm", "new_norm", "serial_from", "serial_to"),
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
    rows: dict[str, int] = field(default_factory=dict)
    carried_over: list[str] = field(default_factory=list)
    changes: dict[str, Change] = field(default_factory=dict)
    release_id: int | None = None

    def summary_line(self) -> str:
        verb = "Valid; would import" if self.dry_run else "Imported"
        counts = ", ".join(f"{n:,} {name.removesuffix('.csv')}" for name, n in self.rows.items())
        parts = self.changes.get("parts.csv", Change())
        return (
            f"{verb} release {self.label}: {counts}; parts +{parts.added:,} "
            f"-{parts.removed:,} ~{parts.changed:,}."
        )


def import_release(
    session: Session,
    *,
    path: Path,
    label: str,
    imported_by: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate the release at ``path`` and, unless ``dry_run``, add it as release ``label``.

    Runs in a savepoint: on any problem, or with ``dry_run``, nothing is left behind.

    :raises InvalidRelease: naming every problem, with file, line and column.
    """
    say = progress or (lambda _message: None)
    problems = Problems()
    label = label.strip()
    if not label or len(label) > 64:
        problems.add("", None, None, "the release label must be 1 to 64 characters")
    elif session.scalar(select(Release.id).where(Release.label == label)) is not None:
        problems.add(
            "", None, None, f"a release labelled {label!r} exists already; labels are for ever"
        )
    source = ReleaseSource(path, problems)
    report = ImportReport(label=label, dry_run=dry_run)
    savepoint = session.begin_nested()
    try:
        conn = session.connection()
        _create_staging(conn)
        for target in TARGETS:
            if not source.has(target.spec.name) and not target.spec.file_required:
                report.carried_over.append(target.spec.name)
                continue
            report.rows[target.spec.name] = _load(conn, source, target, problems, say)
        if not problems:
            _check(conn, problems, say)
        if problems:
            raise InvalidRelease(problems.all())
        release = Release(
            label=label, imported_at=utcnow(), imported_by=imported_by, source=path.name[:255]
        )
        session.add(release)
        session.flush()
        report.release_id = release.id
        for target in TARGETS:
            if target.spec.name in report.rows:
                say(f"Applying {target.spec.name}")
                report.changes[target.spec.name] = _apply(conn, target, release.id)
        if "parts.csv" in report.rows:
            _apply_stock(conn)
        release.summary = {
            **{f"{name.removesuffix('.csv')}_rows": n for name, n in report.rows.items()},
            **{
                f"{name.removesuffix('.csv')}_{kind}": getattr(change, kind)
                for name, change in report.changes.items()
                for kind in ("added", "removed", "changed")
            },
        }
        _drop_staging(conn)
        session.flush()
    except BaseException:
        savepoint.rollback()
        raise
    finally:
        source.close()
    if dry_run:
        savepoint.rollback()
        report.release_id = None
    else:
        savepoint.commit()
    return report


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _load(
    conn: Connection, source: ReleaseSource, target: _Target, problems: Problems, say: Progress
) -> int:
    names = [c.name for c in target.stage.columns]
    loaded = 0
    rows = (
        dict(zip(names, (line, *row), strict=True))
        for line, row in read_rows(source, target.spec, problems, target.convert)
    )
    for batch in _batches(rows, BATCH):
        # Once the file is known to be bad, keep reading for problems but stop writing.
        if not problems:
            conn.execute(target.stage.insert(), batch)
        loaded += len(batch)
        if loaded % 200_000 < BATCH:
            say(f"{target.spec.name}: {loaded:,} rows")
    # Indexed after loading: building an index once is cheaper than updating it per row.
    for index in target.stage.indexes:
        conn.execute(CreateIndex(index))
    say(f"{target.spec.name}: {loaded:,} rows read")
    return loaded


def _check(conn: Connection, problems: Problems, say: Progress) -> None:
    """Checks that span rows or need what earlier releases hold."""
    say("Checking numbers, duplicates and cycles")
    _duplicates(conn, problems, stage_parts, ("number_norm",), "parts.csv", "part_number", "part")
    _duplicates(
        conn, problems, stage_models, ("number_norm",), "models.csv", "model_number", "model"
    )
    _duplicates(
        conn, problems, stage_fitments, TARGETS[2].key, "fitments.csv", "part_number", "fitment"
    )
    _duplicates(
        conn,
        problems,
        stage_supersessions,
        TARGETS[3].key,
        "supersessions.csv",
        "new_part_number",
        "supersession",
    )
    known_part = _known(stage_parts, PartVersion)
    known_model = _known(stage_models, ModelVersion)
    for stage, norm, number, file, column, known, kind in (
        (
            stage_fitments,
            "model_norm",
            "model_number",
            "fitments.csv",
            "model_number",
            known_model,
            "model",
        ),
        (
            stage_fitments,
            "part_norm",
            "part_number",
            "fitments.csv",
            "part_number",
            known_part,
            "part",
        ),
        (
            stage_supersessions,
            "old_norm",
            "old_number",
            "supersessions.csv",
            "old_part_number",
            known_part,
            "part",
        ),
        (
            stage_supersessions,
            "new_norm",
            "new_number",
            "supersessions.csv",
            "new_part_number",
            known_part,
            "part",
        ),
    ):
        unknown = select(stage.c.line, stage.c[number]).where(not_(known(stage.c[norm])))
        for line, spelled in conn.execute(unknown.order_by(stage.c.line)):
            problems.add(
                file, line, column, f"{kind} {spelled} is not in this release or an earlier one"
            )
    edges = conn.execute(
        select(
            stage_supersessions.c.old_norm,
            stage_supersessions.c.new_norm,
            stage_supersessions.c.old_number,
            stage_supersessions.c.line,
        )
    ).all()
    spelled = {old: number for old, _new, number, _line in edges}
    first_line: dict[str, int] = {}
    for old, _new, _number, line in edges:
        first_line.setdefault(old, line)
    for cycle in find_cycles((old, new) for old, new, _number, _line in edges):
        names = [spelled.get(n, n) for n in cycle]
        problems.add(
            "supersessions.csv",
            min(first_line[n] for n in cycle),
            None,
            "supersessions form a cycle: " + " → ".join([*names, names[0]]),
        )


def _known(
    stage: Table, model: type[PartVersion] | type[ModelVersion]
) -> Callable[[ColumnElement[Any]], ColumnElement[bool]]:
    def known(norm: ColumnElement[Any]) -> ColumnElement[bool]:
        return exists().where(stage.c.number_norm == norm) | exists().where(
            model.number_norm == norm
        )

    return known


def _duplicates(
    conn: Connection,
    problems: Problems,
    stage: Table,
    key: Sequence[str],
    file: str,
    column: str,
    kind: str,
) -> None:
    columns = [stage.c[k] for k in key]
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
    for line, first_line in conn.execute(query):
        if kind in ("part", "model"):
            message = (
                f"the same {kind} as line {first_line} "
                "(numbers match once spaces, dashes, dots and slashes are ignored)"
            )
        else:
            message = f"repeats the {kind} on line {first_line}"
        problems.add(file, line, column, message)


def _same(left: Table | type[Any], right: Table, columns: Sequence[str]) -> ColumnElement[bool]:
    def col(source: Table | type[Any], name: str) -> Any:
        return source.c[name] if isinstance(source, Table) else getattr(source, name)

    return and_(*(col(left, name).is_not_distinct_from(right.c[name]) for name in columns))


def _apply(conn: Connection, target: _Target, release_id: int) -> Change:
    model, stage = target.model, target.stage
    current = model.valid_to.is_(None)
    # Close every current version that this release does not repeat exactly (gone or changed).
    unchanged = exists().where(_same(model, stage, (*target.key, *target.values)))
    conn.execute(update(model).where(current, not_(unchanged)).values(valid_to=release_id))
    # Insert a version for every staged row that now has no current version (new or changed).
    has_current = exists().where(model.valid_to.is_(None), _same(model, stage, target.key))
    columns = [*target.key, *target.values]
    conn.execute(
        insert(model).from_select(
            [*columns, "valid_from"],
            select(*(stage.c[c] for c in columns), literal(release_id)).where(not_(has_current)),
        )
    )
    return _change(conn, target, release_id)


def _change(conn: Connection, target: _Target, release_id: int) -> Change:
    model = target.model
    added_rows = conn.scalar(select(func.count()).where(model.valid_from == release_id)) or 0
    closed_rows = conn.scalar(select(func.count()).where(model.valid_to == release_id)) or 0
    old = model.__table__.alias("old")
    new = model.__table__.alias("new")
    changed = (
        conn.scalar(
            select(func.count())
            .select_from(new)
            .join(old, and_(*(old.c[k].is_not_distinct_from(new.c[k]) for k in target.key)))
            .where(new.c.valid_from == release_id, old.c.valid_to == release_id)
        )
        or 0
    )
    return Change(added=added_rows - changed, removed=closed_rows - changed, changed=changed)


def _apply_stock(conn: Connection) -> None:
    staged = (
        select(stage_parts.c.stock_qty)
        .where(stage_parts.c.number_norm == StockLevel.number_norm)
        .scalar_subquery()
    )
    differs = exists().where(
        stage_parts.c.number_norm == StockLevel.number_norm,
        stage_parts.c.stock_qty.is_not(None),
        stage_parts.c.stock_qty != StockLevel.quantity,
    )
    conn.execute(update(StockLevel).where(differs).values(quantity=staged))
    conn.execute(
        insert(StockLevel).from_select(
            ["number_norm", "quantity"],
            select(stage_parts.c.number_norm, stage_parts.c.stock_qty).where(
                stage_parts.c.stock_qty.is_not(None),
                not_(exists().where(StockLevel.number_norm == stage_parts.c.number_norm)),
            ),
        )
    )
