"""Is this unit in warranty? The standard term from a proven purchase date, and extended
coverage by serial; the answer says until when (parts and labour apart) and why.

:func:`decide` is pure; :func:`entitlement` reads what it needs from the database.
"""

from __future__ import annotations

import calendar
import csv
import enum
import io
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.exceptions import Invalid
from app.models import utcnow
from app.repairs.models import Repair
from app.repairs.services import normal_serial
from app.storable import CONTROL
from app.warranty.models import (
    CoverageImport,
    CoverageKind,
    ExtendedCoverage,
    PurchaseProof,
    WarrantyTerm,
)
from diagnostics import services as diagnostics
from parts_catalog.numbers import compare_serials, normalise, serial_in_range


class Status(enum.StrEnum):
    IN_WARRANTY = "in_warranty"
    OUT_OF_WARRANTY = "out_of_warranty"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Term:
    scope: str  # "Product line TV" or "KDL-32*"
    parts_months: int
    labour_months: int


@dataclass(frozen=True)
class Coverage:
    ends_on: date
    kind: CoverageKind
    source: str  # "extended coverage (file.csv)"


@dataclass(frozen=True)
class Entitlement:
    status: Status
    parts_until: date | None  # the last day covered
    labour_until: date | None
    source: str  # why, in words
    proof_needed: bool = False

    @property
    def summary(self) -> str:
        """The one line a page shows."""
        if self.status == Status.IN_WARRANTY:
            parts = f"{self.parts_until:%d %b %Y} (parts)" if self.parts_until else "not parts"
            labour = f"{self.labour_until:%d %b %Y} (labour)" if self.labour_until else "not labour"
            return f"In warranty until {parts}, {labour}"
        if self.status == Status.OUT_OF_WARRANTY:
            ended = max(d for d in (self.parts_until, self.labour_until) if d is not None)
            return f"Out of warranty since {ended + timedelta(days=1):%d %b %Y}"
        return "Unknown: proof of purchase needed"


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, kept inside the month (31 Jan + 1 month = 28/29 Feb)."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def standard_until(purchase_on: date, months: int) -> date:
    """The last day of a term of ``months`` from ``purchase_on``: a 12-month warranty bought
    on 10 January 2025 covers through 9 January 2026."""
    return add_months(purchase_on, months) - timedelta(days=1)


def decide(
    *,
    term: Term | None,
    purchase_on: date | None,
    proof: bool,
    coverage: list[Coverage],
    today: date,
) -> Entitlement:
    """The entitlement from what is known; pure.

    A purchase date counts only with its proof; extended coverage counts by serial alone. The
    later of the standard term and any coverage decides, parts and labour apart.
    """
    parts: date | None = None
    labour: date | None = None
    sources = []
    if term is not None and purchase_on is not None and proof:
        parts = standard_until(purchase_on, term.parts_months)
        labour = standard_until(purchase_on, term.labour_months)
        sources.append(
            f"standard warranty of {term.scope}: {term.parts_months} months parts, "
            f"{term.labour_months} months labour from the purchase on {purchase_on:%d %b %Y}"
        )
    for cover in coverage:
        if cover.kind in (CoverageKind.PARTS_AND_LABOUR, CoverageKind.PARTS):
            parts = max(parts, cover.ends_on) if parts else cover.ends_on
        if cover.kind in (CoverageKind.PARTS_AND_LABOUR, CoverageKind.LABOUR):
            labour = max(labour, cover.ends_on) if labour else cover.ends_on
        sources.append(f"{cover.source} to {cover.ends_on:%d %b %Y}")
    if parts is None and labour is None:
        if term is None:
            why = "no warranty term covers this model"
        elif purchase_on is None:
            why = "no purchase date"
        else:
            why = "the purchase date has no proof attached"
        return Entitlement(Status.UNKNOWN, None, None, why, proof_needed=term is not None)
    covered = any(d is not None and d >= today for d in (parts, labour))
    status = Status.IN_WARRANTY if covered else Status.OUT_OF_WARRANTY
    return Entitlement(status, parts, labour, "; ".join(sources))


# --- reading the database -----------------------------------------------------------------------


def term_for(session: Session, model_number: str, product_line: str | None) -> Term | None:
    """The term for a model: a model glob wins over its product line; among equals, the newest."""
    terms = list(session.scalars(select(WarrantyTerm).order_by(WarrantyTerm.id.desc())))
    for term in terms:
        if term.model_pattern and diagnostics.model_matches([term.model_pattern], model_number):
            return Term(term.model_pattern, term.parts_months, term.labour_months)
    line = (product_line or "").strip().lower()
    for term in terms:
        if not term.model_pattern and line and (term.product_line or "").lower() == line:
            return Term(f"product line {term.product_line}", term.parts_months, term.labour_months)
    return None


def coverage_for(session: Session, model_number: str, serial: str) -> list[Coverage]:
    """Extended coverage rows naming this unit (by its serial or a range holding it)."""
    norm = normal_serial(serial)
    found = []
    for row in session.execute(
        select(ExtendedCoverage, CoverageImport.filename)
        .join(CoverageImport)
        .where(ExtendedCoverage.model_norm == normalise(model_number))
    ):
        cover, filename = row
        if serial_in_range(norm, cover.serial_from, cover.serial_to):
            label = cover.note or f"extended coverage ({filename})"
            found.append(Coverage(cover.ends_on, cover.kind, label))
    return found


def entitlement(
    session: Session,
    *,
    model_number: str,
    serial: str,
    repair: Repair | None = None,
    today: date | None = None,
) -> Entitlement:
    """The unit's entitlement. The purchase date and its proof come from ``repair``, or else
    from the unit's latest repair (any centre) that has a proof attached."""
    facts = diagnostics.model_facts(session, model_number)
    model = facts.number if facts else model_number
    term = term_for(session, model, facts.product_line if facts else None)
    purchase_on, proof = None, False
    candidates = [repair] if repair is not None else []
    candidates += list(
        session.scalars(
            select(Repair)
            .where(
                Repair.model_norm == normalise(model),
                Repair.serial_norm == normal_serial(serial),
                Repair.purchase_on.is_not(None),
            )
            .order_by(Repair.opened_at.desc())
        )
    )
    for candidate in candidates:
        has_proof = (
            session.scalar(
                select(PurchaseProof.id).where(PurchaseProof.repair_id == candidate.id).limit(1)
            )
            is not None
        )
        if candidate.purchase_on is not None and (has_proof or purchase_on is None):
            purchase_on, proof = candidate.purchase_on, has_proof
        if has_proof:
            break
    return decide(
        term=term,
        purchase_on=purchase_on,
        proof=proof,
        coverage=coverage_for(session, model, serial),
        today=today or utcnow().date(),
    )


# --- importing extended coverage ----------------------------------------------------------------

COVERAGE_COLUMNS = ("model_number", "serial_from", "serial_to", "serial", "ends_on", "kind", "note")


class CoverageFileError(Invalid):
    """The file was not imported; ``errors`` lists every problem with its line."""


def import_coverage(session: Session, *, text: str, filename: str, by: str) -> CoverageImport:
    """Import extended coverage: a CSV with ``model_number, serial`` (one unit) or
    ``model_number, serial_from, serial_to`` (a range), ``ends_on`` (YYYY-MM-DD) and ``kind``
    (parts_and_labour, parts, labour; default parts_and_labour), optional ``note``. Applies
    whole or not at all.

    :raises CoverageFileError: naming every problem with its line and column.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    problems = []
    unknown = [h for h in header if h not in COVERAGE_COLUMNS]
    if unknown:
        problems.append(f"line 1: unknown columns {', '.join(unknown)}")
    for needed in ("model_number", "ends_on"):
        if needed not in header:
            problems.append(f"line 1: the column {needed} is required")
    if "serial" not in header and not {"serial_from", "serial_to"} <= set(header):
        problems.append("line 1: give serial, or serial_from and serial_to")
    if problems:
        raise CoverageFileError("Nothing was imported.", errors=problems)
    rows = []
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        if any(CONTROL.search(v) for v in row.values()):
            problems.append(f"line {line}: control characters")
            continue
        model = row.get("model_number", "")
        facts = diagnostics.model_facts(session, model) if model else None
        if facts is None:
            problems.append(f"line {line}, model_number: {model or '(empty)'} is not a model")
        single = row.get("serial", "")
        low = normal_serial(single or row.get("serial_from", ""))
        high = normal_serial(single or row.get("serial_to", ""))
        if not low or not high:
            problems.append(f"line {line}, serial: give a serial or both ends of a range")
        elif compare_serials(low, high) > 0:
            problems.append(f"line {line}, serial_to: the range ends before it starts")
        try:
            ends_on = date.fromisoformat(row.get("ends_on", ""))
        except ValueError:
            problems.append(f"line {line}, ends_on: a date as YYYY-MM-DD")
            continue
        try:
            kind = CoverageKind(row.get("kind") or CoverageKind.PARTS_AND_LABOUR)
        except ValueError:
            problems.append(f"line {line}, kind: parts_and_labour, parts or labour")
            continue
        if facts is not None and low and high:
            rows.append(
                ExtendedCoverage(
                    model_norm=normalise(facts.number),
                    model_number=facts.number,
                    serial_from=low,
                    serial_to=high,
                    ends_on=ends_on,
                    kind=kind,
                    note=row.get("note", "")[:200] or None,
                )
            )
    if problems:
        raise CoverageFileError(f"Nothing was imported: {len(problems)} problems.", errors=problems)
    if not rows:
        raise CoverageFileError("Nothing was imported: the file has no rows.", errors=[])
    batch = CoverageImport(
        filename=filename[:200], rows=len(rows), imported_by=by, imported_at=utcnow()
    )
    session.add(batch)
    session.flush()
    for row_ in rows:
        row_.import_id = batch.id
    session.add_all(rows)
    session.flush()
    return batch
