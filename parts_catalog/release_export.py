"""Writing a release back out in the import format: the CSV files and the drawings of its
exploded views, as a full snapshot.

An export imported again changes nothing. Cells are escaped against spreadsheet formulas in a
way the importer undoes (``release_files.unescape_cell``): a text starting with ``= + - @``, tab
or return, after any number of apostrophes, gets one more apostrophe in front.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parts_catalog.models import (
    DiagramVersion,
    DrawingFile,
    FitmentVersion,
    HotspotVersion,
    ModelVersion,
    PartVersion,
    Release,
    SupersessionVersion,
)
from parts_catalog.release_files import (
    DIAGRAMS,
    FITMENTS,
    HOTSPOTS,
    MODELS,
    PARTS,
    SUPERSESSIONS,
    escape_cell,
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        # The shortest text that reads back as the same number.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (Decimal, date, int)):
        return str(value) if not isinstance(value, date) else value.isoformat()
    return escape_cell(str(value))


def _spellings(
    session: Session, model: type[PartVersion] | type[ModelVersion], release: Release
) -> dict[str, str]:
    """Each number as the release, or the last before it that listed it, spells it."""
    rows = session.execute(
        select(model.number_norm, model.number)
        .where(model.valid_from <= release.id)
        .order_by(model.valid_from)
    )
    return dict(rows.all())


def _write(path: Path, columns: tuple[str, ...], rows: Iterable[Iterable[object]]) -> int:
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
            count += 1
    return count


def _versions(session: Session, model: type[Any], release: Release, *order: Any) -> Iterator[Any]:
    yield from session.scalars(
        select(model)
        .where(model.as_of(release.id))
        .order_by(*order)
        .execution_options(yield_per=2000)
    )


def export_release(session: Session, *, release: Release, folder: Path) -> dict[str, int]:
    """Write ``release`` as of itself into ``folder``; return the rows written per file.

    ``stock_qty`` stays empty: stock belongs to ordering, not to a release.
    """
    folder.mkdir(parents=True, exist_ok=True)
    parts = _spellings(session, PartVersion, release)
    models = _spellings(session, ModelVersion, release)
    written = {
        PARTS.name: _write(
            folder / PARTS.name,
            PARTS.columns,
            (
                (
                    p.number,
                    p.description,
                    p.category,
                    p.unit_price,
                    p.currency,
                    p.status,
                    None,
                    p.safety_critical,
                )
                for p in _versions(session, PartVersion, release, PartVersion.number_norm)
            ),
        ),
        MODELS.name: _write(
            folder / MODELS.name,
            MODELS.columns,
            (
                (
                    m.number,
                    m.name,
                    m.product_line,
                    m.chassis,
                    m.released_on,
                    m.support_ends_on,
                    m.exchange_value,
                )
                for m in _versions(session, ModelVersion, release, ModelVersion.number_norm)
            ),
        ),
        FITMENTS.name: _write(
            folder / FITMENTS.name,
            FITMENTS.columns,
            (
                (
                    models[f.model_norm],
                    parts[f.part_norm],
                    f.ref_no,
                    f.diagram,
                    f.quantity,
                    f.serial_from,
                    f.serial_to,
                )
                for f in _versions(
                    session, FitmentVersion, release, FitmentVersion.model_norm, FitmentVersion.id
                )
            ),
        ),
        SUPERSESSIONS.name: _write(
            folder / SUPERSESSIONS.name,
            SUPERSESSIONS.columns,
            (
                (
                    parts[s.old_norm],
                    parts[s.new_norm],
                    s.quantity,
                    s.interchangeability,
                    s.effective_on,
                    s.serial_from,
                    s.serial_to,
                    s.note,
                )
                for s in _versions(session, SupersessionVersion, release, SupersessionVersion.id)
            ),
        ),
    }
    written.update(_export_diagrams(session, release, folder, models))
    return written


def _export_diagrams(
    session: Session, release: Release, folder: Path, models: dict[str, str]
) -> dict[str, int]:
    """diagrams.csv, hotspots.csv and each drawing once, under the name the release gave it
    (a name two different drawings share gets the drawing's hash added)."""
    diagrams = list(_versions(session, DiagramVersion, release, DiagramVersion.diagram_key))
    names: dict[str, str] = {}  # file name → sha256 written under it
    rows = []
    for d in diagrams:
        name = d.file_name
        if names.get(name, d.drawing_sha256) != d.drawing_sha256:
            stem, dot, suffix = name.rpartition(".")
            name = f"{stem}-{d.drawing_sha256[:12]}{dot}{suffix}"
        if name not in names:
            names[name] = d.drawing_sha256
            drawing = session.get(DrawingFile, d.drawing_sha256)
            assert drawing is not None  # a version names only stored drawings
            (folder / name).write_bytes(drawing.data)
        rows.append(
            (
                models[d.model_norm] if d.model_norm else None,
                d.chassis,
                d.diagram_key,
                d.title,
                name,
            )
        )
    return {
        DIAGRAMS.name: _write(folder / DIAGRAMS.name, DIAGRAMS.columns, rows),
        HOTSPOTS.name: _write(
            folder / HOTSPOTS.name,
            HOTSPOTS.columns,
            (
                (h.diagram_key, h.ref_no, h.x, h.y, h.w, h.h, h.element_id)
                for h in _versions(
                    session, HotspotVersion, release, HotspotVersion.diagram_key, HotspotVersion.id
                )
            ),
        ),
    }
