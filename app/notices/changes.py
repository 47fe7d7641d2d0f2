"""The change a bulletin carries: a draft tree revision and supersession rows, checked when the
notice is written and applied, in the same transaction, when it is published (so technicians
read the why and the what to do at the moment the catalogue and the tree change).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app.exceptions import Invalid
from diagnostics import services as diagnostics
from diagnostics.errors import InvalidTree, UnknownTree
from diagnostics.models import DRAFT
from parts_catalog.errors import InvalidRelease
from parts_catalog.importer import import_release
from parts_catalog.models import DELTA
from parts_catalog.release_files import SUPERSESSIONS

#: The columns a carried supersession line gives, in this order (the rest of supersessions.csv's
#: columns are left empty).
LINE_COLUMNS = (
    "old_part_number",
    "new_part_number",
    "quantity",
    "interchangeability",
    "effective_on",
    "note",
)
MAX_ROWS = 200


@dataclass(frozen=True)
class CarriedChange:
    tree_id: str | None = None
    tree_revision: int | None = None
    supersessions: tuple[dict[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tree_id or self.supersessions)


def read_lines(text: str) -> tuple[list[dict[str, str]], list[str]]:
    """Supersession rows from lines of ``old, new[, quantity[, interchangeability[,
    effective_on[, note]]]]`` (CSV: a note with a comma is quoted); and what is wrong."""
    rows: list[dict[str, str]] = []
    problems = []
    for number, cells in enumerate(csv.reader(io.StringIO(text), skipinitialspace=True), start=1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            problems.append(f"line {number}: give the old and the new part number")
            continue
        if len(cells) > len(LINE_COLUMNS):
            problems.append(f"line {number}: at most {len(LINE_COLUMNS)} values")
            continue
        rows.append({k: v for k, v in zip(LINE_COLUMNS, cells, strict=False) if v})
    if len(rows) > MAX_ROWS:
        problems.append(f"at most {MAX_ROWS} supersessions in one notice")
    return rows, problems


def _write(rows: Sequence[dict[str, str]], folder: Path) -> Path:
    with open(folder / SUPERSESSIONS.name, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(SUPERSESSIONS.columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: v for k, v in row.items() if k in SUPERSESSIONS.columns})
    return folder


def check(session: Session, change: CarriedChange, *, label: str) -> dict[str, str]:
    """Every problem with the change as it would be applied now, by field (nothing is kept)."""
    errors: dict[str, str] = {}
    if change.tree_id:
        try:
            revision = diagnostics.get_revision(session, change.tree_id, change.tree_revision)
        except UnknownTree:
            errors["carries_tree"] = (
                f"There is no tree {change.tree_id} revision {change.tree_revision}."
            )
        else:
            if revision.status != DRAFT:
                errors["carries_tree"] = (
                    f"{change.tree_id} revision {revision.number} is {revision.status}: a bulletin "
                    "publishes a draft."
                )
    if change.supersessions:
        problems = _import(session, change.supersessions, label=label, dry_run=True)
        if problems:
            errors["carries_supersessions"] = "; ".join(problems)
    return errors


def _import(
    session: Session, rows: Sequence[dict[str, str]], *, label: str, dry_run: bool, by: str = ""
) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="bulletin-") as folder:
        try:
            import_release(
                session,
                path=_write(rows, Path(folder)),
                label=label,
                kind=DELTA,
                imported_by=by or None,
                dry_run=dry_run,
            )
        except InvalidRelease as exc:
            return [str(p) for p in exc.problems]
    return []


def apply(session: Session, change: CarriedChange, *, label: str, by: str) -> str | None:
    """Publish the tree revision and import the supersessions as delta release ``label``;
    returns the label when a release was made.

    :raises Invalid: naming what can no longer be applied; the caller's transaction is to be
        rolled back (nothing of the notice's publication stands).
    """
    errors = check(session, change, label=label)
    if errors:
        raise Invalid(
            "The change this bulletin carries cannot be applied as it stands: nothing was "
            "published.",
            errors=errors,
        )
    if change.tree_id:
        revision = diagnostics.get_revision(session, change.tree_id, change.tree_revision)
        try:
            diagnostics.publish(session, change.tree_id, revision.number)
        except InvalidTree as exc:
            raise Invalid(
                "The tree revision this bulletin carries cannot be published: nothing was "
                "published.",
                errors={"carries_tree": "; ".join(str(p) for p in exc.problems)},
            ) from None
    if not change.supersessions:
        return None
    problems = _import(session, change.supersessions, label=label, dry_run=False, by=by)
    if problems:
        raise Invalid(
            "The supersessions this bulletin carries cannot be imported: nothing was published.",
            errors={"carries_supersessions": "; ".join(problems)},
        )
    return label
