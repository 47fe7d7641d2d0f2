"""Keeping the warranty's tables: the standard terms and the flat-rate labour codes (engineers
and admins keep them), and the lists the warranty pages read.

Flask-free; services flush, never commit. A new labour amount is a new version of its code from
an effective date: the old one stays, and a claim is priced at the rate of its repair's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.exceptions import Conflict, Invalid, NotAllowed
from app.models import scope_key, utcnow
from app.repairs.models import Repair
from app.roles import Role
from app.storable import CONTROL
from app.warranty.claims import rate_on
from app.warranty.models import Claim, ClaimStatus, LabourRate, PaymentBatch, WarrantyTerm
from diagnostics import services as diagnostics

KEEPERS = frozenset({Role.ENGINEER, Role.ADMIN})
MAX_MONTHS = 120
MAX_AMOUNT = Decimal("100000")


def _keeper(by: User) -> str:
    if by.role not in KEEPERS:
        raise NotAllowed("Engineers and admins keep the warranty terms and labour rates.")
    return by.email


def _text(value: str | None, limit: int) -> str:
    return CONTROL.sub("", value or "").strip()[:limit]


# --- labour rates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateCode:
    """A labour code with its versions, newest effective date first."""

    code: str
    product_line: str
    repair_kind: str
    versions: list[LabourRate]


def rates(session: Session) -> list[RateCode]:
    """Every labour code with all its versions (by code; newest version first)."""
    found: dict[str, list[LabourRate]] = {}
    for rate in session.scalars(
        select(LabourRate).order_by(LabourRate.code, LabourRate.effective_on.desc())
    ):
        found.setdefault(rate.code, []).append(rate)
    return [
        RateCode(code, versions[0].product_line, versions[0].repair_kind, versions)
        for code, versions in found.items()
    ]


def add_rate(
    session: Session,
    *,
    by: User,
    code: str,
    product_line: str,
    repair_kind: str,
    amount: Decimal,
    effective_on: date,
) -> LabourRate:
    """A labour code's amount from ``effective_on`` (a new code, or a new version of one).

    :raises Invalid: with every problem per field.
    :raises Conflict: the code already has a version from that date (the database decides,
        so two keepers adding it at once make one row).
    """
    who = _keeper(by)
    code = _text(code, 20).upper()
    product_line = _text(product_line, 40)
    repair_kind = _text(repair_kind, 80)
    errors: dict[str, str] = {}
    if not code or not code.replace("-", "").replace("_", "").isalnum():
        errors["code"] = "Letters, digits and dashes, such as TV-PSU."
    if not product_line:
        errors["product_line"] = "Give the product line the code is for (TV, Camera)."
    if not repair_kind:
        errors["repair_kind"] = "Say what kind of repair it pays for."
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        errors["amount"] = "An amount such as 40.00."
    current = session.scalar(
        select(LabourRate).where(LabourRate.code == code).order_by(LabourRate.id).limit(1)
    )
    if current is not None and current.product_line.lower() != product_line.lower():
        errors["product_line"] = (
            f"{code} is a {current.product_line} code: a code stays with its product line."
        )
    if errors:
        raise Invalid("The rate was not added: " + " ".join(errors.values()), errors=errors)
    rate = LabourRate(
        code=code,
        product_line=current.product_line if current else product_line,
        repair_kind=repair_kind,
        amount=amount.quantize(Decimal("0.01")),
        effective_on=effective_on,
        updated_by=who,
    )
    try:
        with session.begin_nested():
            session.add(rate)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"{code} already has a rate from {effective_on:%d %b %Y}: give another date."
        ) from None
    return rate


@dataclass(frozen=True)
class CodeChoice:
    code: str
    label: str
    own_line: bool  # the code is for the model's product line


def codes_for(session: Session, repair: Repair) -> list[CodeChoice]:
    """The labour codes in effect on the repair's date: those of its product line first, then
    the others (labelled with their line: a code of another line is a problem the claim names)."""
    facts = diagnostics.model_facts(session, repair.model_number)
    line = ((facts.product_line if facts else "") or "").lower()
    on = repair.opened_at.date()
    choices = []
    for code in sorted({r.code for r in session.scalars(select(LabourRate))}):
        rate = rate_on(session, code, on)
        if rate is None:
            continue
        own = rate.product_line.lower() == line
        label = f"{code}: {rate.repair_kind} ({rate.amount:.2f})"
        choices.append(CodeChoice(code, label if own else f"{label}, {rate.product_line}", own))
    return sorted(choices, key=lambda c: (not c.own_line, c.code))


# --- warranty terms -----------------------------------------------------------------------------


def terms(session: Session) -> list[WarrantyTerm]:
    """The terms: model globs (which win over lines) first, then product lines."""
    found = session.scalars(select(WarrantyTerm).order_by(WarrantyTerm.id))
    return sorted(
        found, key=lambda t: (t.model_pattern is None, t.model_pattern or "", t.product_line or "")
    )


def set_term(
    session: Session,
    *,
    by: User,
    product_line: str | None,
    model_pattern: str | None,
    parts_months: int,
    labour_months: int,
) -> WarrantyTerm:
    """The term of a product line or of models matching a glob (``KDL-32*``): set, or changed
    when that line or glob has one already.

    :raises Invalid: with every problem per field.
    """
    who = _keeper(by)
    line = _text(product_line, 40) or None
    pattern = _text(model_pattern, 80).upper() or None
    errors: dict[str, str] = {}
    if (line is None) == (pattern is None):
        errors["product_line"] = "Give a product line or a model pattern (one of them)."
    for name, months in (("parts_months", parts_months), ("labour_months", labour_months)):
        if not 0 <= months <= MAX_MONTHS:
            errors[name] = f"Months from 0 to {MAX_MONTHS}."
    if errors:
        raise Invalid("The term was not kept: " + " ".join(errors.values()), errors=errors)
    scope = scope_key(line, pattern)
    term = session.scalar(select(WarrantyTerm).where(WarrantyTerm.scope == scope))
    if term is None:
        try:
            # The scope's unique constraint decides between two keepers adding it at once:
            # the second changes the term the first made.
            with session.begin_nested():
                term = WarrantyTerm(
                    product_line=line,
                    model_pattern=pattern,
                    parts_months=parts_months,
                    labour_months=labour_months,
                    updated_by=who,
                    updated_at=utcnow(),
                )
                session.add(term)
                session.flush()
        except IntegrityError:
            term = session.scalars(select(WarrantyTerm).where(WarrantyTerm.scope == scope)).one()
    term.parts_months = parts_months
    term.labour_months = labour_months
    term.updated_by = who
    term.updated_at = utcnow()
    session.flush()
    return term


def remove_term(session: Session, *, by: User, term_id: int) -> None:
    """Remove a term (units it covered fall back to their line's term, or to "unknown")."""
    _keeper(by)
    term = session.get(WarrantyTerm, term_id)
    if term is not None:
        session.delete(term)
        session.flush()


# --- what the pages list ------------------------------------------------------------------------


def review_queue(session: Session, *, limit: int = 500) -> list[Claim]:
    """Submitted claims of every centre, the oldest submission first."""
    return list(
        session.scalars(
            select(Claim)
            .where(Claim.status == ClaimStatus.SUBMITTED)
            .order_by(Claim.submitted_at, Claim.id)
            .limit(limit)
        )
    )


def claims_of_repair(session: Session, repair: Repair) -> list[Claim]:
    return list(
        session.scalars(select(Claim).where(Claim.repair_id == repair.id).order_by(Claim.id))
    )


def batches(session: Session, *, limit: int = 200) -> list[PaymentBatch]:
    """Payment batches, newest first."""
    return list(session.scalars(select(PaymentBatch).order_by(PaymentBatch.id.desc()).limit(limit)))
