"""Warranty claims: a centre claims the parts and labour of a warranty repair and is paid.

A claim is made from a repair (labour by flat-rate code, parts from the repair's warranty
orders, an exchange's handling fee, travel where the line allows it), checked before it is
submitted with every problem at once, decided by a reviewer (or approved by the rules when small
and unflagged), sent back for information and resubmitted as the same claim with its history,
and paid in a batch. Flask-free; services flush, never commit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.exceptions import Conflict, Invalid, NotAllowed, NotFound
from app.models import utcnow
from app.orders.models import Order, OrderKind
from app.repairs.models import ExchangeAuthorisation, ExchangeStatus, LinkKind, Repair
from app.roles import Person, Role
from app.warranty.entitlement import Status, entitlement
from app.warranty.models import (
    Claim,
    ClaimEvent,
    ClaimLine,
    ClaimStatus,
    LabourRate,
    LineKind,
    PaymentBatch,
)
from app.warranty.settings import WarrantySettings
from diagnostics import services as diagnostics
from parts_catalog.release_files import escape_cell

EDITABLE = (ClaimStatus.DRAFT, ClaimStatus.NEEDS_INFORMATION)
REPAIRERS = frozenset({Role.TECHNICIAN, Role.CENTRE_MANAGER})
REVIEWERS = frozenset({Role.CLAIM_REVIEWER, Role.ADMIN})


def _person(user: User) -> Person:
    return Person(user.id, user.role, user.centre_id)


def _name(user: User) -> str:
    return user.name or user.email


def _event(claim: Claim, text: str, *, by: str, at: datetime) -> None:
    claim.events.append(ClaimEvent(at=at, by=by, text=text))


def _sees(person: Person, claim: Claim) -> bool:
    return person.role in REVIEWERS or (
        person.role in REPAIRERS and person.centre_id == claim.centre_id
    )


def claim_for(session: Session, user: User, reference: str) -> Claim:
    """:raises NotFound: none, or another centre's (said the same way)."""
    claim = session.scalar(
        select(Claim)
        .where(Claim.reference == reference.strip().upper())
        .options(selectinload(Claim.lines), selectinload(Claim.events))
    )
    if claim is None or not _sees(_person(user), claim):
        raise NotFound(f"No claim {reference} for you: check the reference.")
    return claim


def claims_for(session: Session, user: User, *, limit: int = 500) -> list[Claim]:
    """The centre's claims, newest first (a reviewer's: every centre's)."""
    query = select(Claim).options(selectinload(Claim.lines), selectinload(Claim.events))
    if _person(user).role not in REVIEWERS:
        if user.centre_id is None:
            return []
        query = query.where(Claim.centre_id == user.centre_id)
    return list(session.scalars(query.order_by(Claim.id.desc()).limit(limit)))


def sent_back(session: Session, user: User) -> list[Claim]:
    """Claims a reviewer sent back for information, the oldest decision first: a technician's
    own, a centre manager's whole centre's."""
    person = _person(user)
    if person.role not in REPAIRERS or user.centre_id is None:
        return []
    query = select(Claim).where(
        Claim.status == ClaimStatus.NEEDS_INFORMATION, Claim.centre_id == user.centre_id
    )
    if person.role == Role.TECHNICIAN:
        query = query.where(Claim.created_by_id == user.id)
    return list(session.scalars(query.order_by(Claim.decided_at, Claim.id)))


def totals(found: Sequence[Claim]) -> dict[str, Decimal]:
    """The total claimed per status."""
    result: dict[str, Decimal] = {}
    for claim in found:
        result[claim.status.value] = result.get(claim.status.value, Decimal("0")) + claim.total
    return result


def claims_of_batch(session: Session, batch: PaymentBatch) -> list[Claim]:
    return list(
        session.scalars(select(Claim).where(Claim.payment_batch_id == batch.id).order_by(Claim.id))
    )


def batch_by_reference(session: Session, reference: str) -> PaymentBatch:
    """:raises NotFound: no batch of that reference."""
    batch = session.scalar(
        select(PaymentBatch).where(PaymentBatch.reference == reference.strip().upper())
    )
    if batch is None:
        raise NotFound(f"No payment batch {reference}.")
    return batch


def rate_on(session: Session, code: str, on: date) -> LabourRate | None:
    """The labour code's rate in effect on ``on``."""
    return session.scalar(
        select(LabourRate)
        .where(LabourRate.code == code.strip().upper(), LabourRate.effective_on <= on)
        .order_by(LabourRate.effective_on.desc())
        .limit(1)
    )


def _warranty_orders(session: Session, repair: Repair) -> list[Order]:
    ids = [int(link.ref) for link in repair.links if link.kind == LinkKind.ORDER]
    if not ids:
        return []
    return list(
        session.scalars(
            select(Order)
            .where(Order.id.in_(ids), Order.kind == OrderKind.WARRANTY)
            .options(selectinload(Order.lines))
        )
    )


@dataclass(frozen=True)
class PartClaimed:
    part_number: str
    quantity: int
    faulty_serial: str | None = None
    replacement_serial: str | None = None


def draft_claim(
    session: Session,
    repair: Repair,
    *,
    by: User,
    labour_code: str,
    fault: str | None = None,
    travel: Decimal | None = None,
    faulty_serial: str | None = None,
    replacement_serial: str | None = None,
    parts: Sequence[PartClaimed] | None = None,
    settings: WarrantySettings,
) -> Claim:
    """A draft claim for a repair of the person's centre. Without ``parts``, every part of the
    repair's warranty orders is claimed.

    :raises NotAllowed: not the repair's centre.
    """
    person = _person(by)
    if person.role not in REPAIRERS or person.centre_id != repair.centre_id:
        raise NotAllowed("Only the repair's own service centre claims for it.")
    now = utcnow()
    claim = Claim(
        repair_id=repair.id,
        centre_id=repair.centre_id,
        created_by_id=by.id,
        status=ClaimStatus.DRAFT,
        created_at=now,
        updated_at=now,
        flags=[],
    )
    session.add(claim)
    _fill(
        session,
        claim,
        repair,
        labour_code=labour_code,
        fault=fault or repair.symptom_code,
        travel=travel,
        faulty_serial=faulty_serial,
        replacement_serial=replacement_serial,
        parts=parts,
        settings=settings,
    )
    session.flush()
    claim.reference = f"CLM-{now:%Y}-{claim.id:06d}"
    _event(claim, "Drafted.", by=_name(by), at=now)
    session.flush()
    return claim


def _fill(
    session: Session,
    claim: Claim,
    repair: Repair,
    *,
    labour_code: str,
    fault: str | None,
    travel: Decimal | None,
    faulty_serial: str | None,
    replacement_serial: str | None,
    parts: Sequence[PartClaimed] | None,
    settings: WarrantySettings,
) -> None:
    """(Re)compute the claim's lines and total from what is claimed."""
    claim.labour_code = labour_code.strip().upper() or None
    claim.fault = (fault or "").strip().upper() or None
    claim.faulty_serial = (faulty_serial or "").strip() or repair.serial
    claim.replacement_serial = (replacement_serial or "").strip() or None
    claim.lines.clear()
    rate = (
        rate_on(session, claim.labour_code, repair.opened_at.date()) if claim.labour_code else None
    )
    claim.lines.append(
        ClaimLine(
            kind=LineKind.LABOUR,
            description=f"Labour {claim.labour_code or '(no code)'}"
            + (f": {rate.repair_kind}" if rate else ""),
            amount=rate.amount if rate else Decimal("0"),
        )
    )
    prices: dict[tuple[int, str], tuple[Decimal, int]] = {}
    for order in _warranty_orders(session, repair):
        for line in order.lines:
            for item in line.items:
                key = (order.id, item.part_number)
                price = item.unit_price or Decimal("0")
                held = prices.get(key, (price, 0))
                prices[key] = (price, held[1] + item.quantity)
    if parts is None:
        parts = [PartClaimed(number, qty) for (_order, number), (_p, qty) in prices.items()]
    for part in parts:
        found = next(
            (
                (order_id, price)
                for (order_id, number), (price, _q) in prices.items()
                if number == part.part_number
            ),
            None,
        )
        claim.lines.append(
            ClaimLine(
                kind=LineKind.PART,
                description=f"Part {part.part_number}",
                part_number=part.part_number,
                order_id=found[0] if found else None,
                quantity=part.quantity,
                amount=(found[1] * part.quantity) if found else Decimal("0"),
                faulty_serial=part.faulty_serial,
                replacement_serial=part.replacement_serial,
            )
        )
    exchanged = session.scalar(
        select(ExchangeAuthorisation.id).where(
            ExchangeAuthorisation.repair_id == repair.id,
            ExchangeAuthorisation.status == ExchangeStatus.APPROVED,
        )
    )
    if exchanged is not None:
        claim.lines.append(
            ClaimLine(
                kind=LineKind.HANDLING,
                description="Exchange handling fee",
                amount=settings.handling_fee,
            )
        )
    if travel:
        claim.lines.append(ClaimLine(kind=LineKind.TRAVEL, description="Travel", amount=travel))
    claim.total = sum((line.amount for line in claim.lines), Decimal("0"))


def edit_claim(
    session: Session,
    claim: Claim,
    *,
    by: User,
    seen_version: int,
    settings: WarrantySettings,
    **changes: Any,
) -> None:
    """Correct a draft, or a claim sent back for information: the same claim, its history kept.

    :raises Conflict: it changed meanwhile, or cannot be edited in its status.
    """
    person = _person(by)
    if person.role not in REPAIRERS or person.centre_id != claim.centre_id:
        raise NotAllowed("Only the claiming centre corrects its claim.")
    if claim.status not in EDITABLE or claim.version != seen_version:
        raise Conflict(
            f"{claim.reference} is {claim.status.value.replace('_', ' ')} (version "
            f"{claim.version}): nothing was changed."
        )
    repair = session.get(Repair, claim.repair_id)
    assert repair is not None
    before = f"labour {claim.labour_code}, total {claim.total:.2f}"
    _fill(
        session,
        claim,
        repair,
        labour_code=changes.get("labour_code", claim.labour_code or ""),
        fault=changes.get("fault", claim.fault),
        travel=changes.get("travel"),
        faulty_serial=changes.get("faulty_serial", claim.faulty_serial),
        replacement_serial=changes.get("replacement_serial", claim.replacement_serial),
        parts=changes.get("parts"),
        settings=settings,
    )
    now = utcnow()
    # The database decides between two corrections sent at once: one moves the version on.
    done = session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.version == seen_version, Claim.status.in_(EDITABLE))
        .values(version=seen_version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"{claim.reference} was changed meanwhile: nothing was changed.")
    session.refresh(claim, ["version", "updated_at"])
    _event(
        claim,
        f"Edited (version {claim.version}): was {before}; now labour {claim.labour_code}, "
        f"total {claim.total:.2f}.",
        by=_name(by),
        at=now,
    )
    session.flush()


def problems(session: Session, claim: Claim, *, settings: WarrantySettings) -> list[str]:
    """Every reason the claim cannot be submitted, in words a centre can act on."""
    repair = session.get(Repair, claim.repair_id)
    assert repair is not None
    found: list[str] = []
    on = repair.opened_at.date()
    covered = entitlement(
        session, model_number=repair.model_number, serial=repair.serial, repair=repair, today=on
    )
    if covered.status == Status.UNKNOWN:
        found.append(f"Missing proof of purchase: {covered.source}.")
    elif covered.status == Status.OUT_OF_WARRANTY:
        found.append(f"Not in warranty when the repair was opened: {covered.summary}.")
    facts = diagnostics.model_facts(session, repair.model_number)
    line = (facts.product_line if facts else "") or ""
    if not claim.labour_code:
        found.append("Give a labour code.")
    else:
        rate = rate_on(session, claim.labour_code, on)
        if rate is None:
            found.append(f"Labour code {claim.labour_code} is not in effect on {on:%d %b %Y}.")
        elif rate.product_line.lower() != line.lower():
            found.append(
                f"Labour code {claim.labour_code} is for {rate.product_line}, not for "
                f"{repair.model_number} ({line or 'no product line'})."
            )
    for part in claim.lines:
        if part.kind == LineKind.PART and part.order_id is None:
            found.append(
                f"Part {part.part_number} was not ordered for this repair on a warranty order."
            )
        if part.kind == LineKind.TRAVEL and line not in settings.travel_lines:
            found.append(f"Travel is not paid for {line or 'this product line'} repairs.")
    if claim.fault:
        earlier = session.scalars(
            select(Claim, Repair)
            .join(Repair, Repair.id == Claim.repair_id)
            .where(
                Claim.id != claim.id,
                Claim.fault == claim.fault,
                Claim.status.not_in((ClaimStatus.REJECTED, ClaimStatus.DRAFT)),
                Repair.model_norm == repair.model_norm,
                Repair.serial_norm == repair.serial_norm,
            )
        ).all()
        for other in earlier:
            other_repair = session.get(Repair, other.repair_id)
            if (
                other_repair
                and abs((other_repair.opened_at.date() - on).days) <= settings.redo_days
            ):
                found.append(
                    f"Duplicate: {other.reference} claims the same fault ({claim.fault}) for "
                    f"serial {repair.serial} within {settings.redo_days} days."
                )
    return found


def flags_of(session: Session, claim: Claim) -> list[str]:
    """What a reviewer should look at twice (a flagged claim is never approved by the rules)."""
    repair = session.get(Repair, claim.repair_id)
    assert repair is not None
    flags = []
    if repair.redo_of_id is not None:
        earlier = session.get(Repair, repair.redo_of_id)
        flags.append(f"A redo of {earlier.reference if earlier else 'an earlier repair'}.")
    if not any(link.kind == LinkKind.WALK for link in repair.links):
        flags.append("No diagnosis is attached to the repair.")
    kinds = {line.kind for line in claim.lines}
    if LineKind.TRAVEL in kinds:
        flags.append("Travel is claimed.")
    if LineKind.HANDLING in kinds and LineKind.PART in kinds:
        flags.append("Parts are claimed for a unit that was exchanged.")
    return flags


def submit(
    session: Session, claim: Claim, *, by: User, seen_version: int, settings: WarrantySettings
) -> None:
    """Submit a draft (or a corrected claim); small unflagged claims are approved by the rules.

    :raises Invalid: with every problem; nothing changes.
    :raises Conflict: submitted meanwhile (two clicks, two tabs): the first one counts.
    """
    person = _person(by)
    if person.role not in REPAIRERS or person.centre_id != claim.centre_id:
        raise NotAllowed("Only the claiming centre submits its claim.")
    found = problems(session, claim, settings=settings)
    if found:
        raise Invalid(
            f"{claim.reference} was not submitted: {len(found)} problems to correct.",
            errors=found,
        )
    now = utcnow()
    done = session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status.in_(EDITABLE), Claim.version == seen_version)
        .values(status=ClaimStatus.SUBMITTED, submitted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(claim)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"{claim.reference} was submitted or changed meanwhile (now "
            f"{claim.status.value.replace('_', ' ')}): nothing was done twice."
        )
    claim.flags = flags_of(session, claim)
    _event(claim, f"Submitted: {claim.total:.2f}.", by=_name(by), at=now)
    if not claim.flags and claim.total < settings.auto_approve_under:
        claim.status = ClaimStatus.APPROVED
        claim.decided_by = "rules"
        claim.decided_at = now
        _event(claim, "Approved by the rules (small, no flags).", by="Benchside", at=now)
    session.flush()


DECISIONS = {
    "approve": ClaimStatus.APPROVED,
    "reject": ClaimStatus.REJECTED,
    "needs_information": ClaimStatus.NEEDS_INFORMATION,
}


def decide(session: Session, claim: Claim, *, by: User, decision: str, reason: str) -> None:
    """A reviewer's decision on a submitted claim (a rejection or a request for information
    says why).

    :raises Conflict: decided meanwhile.
    """
    if _person(by).role not in REVIEWERS:
        raise NotAllowed("Claim reviewers decide claims.")
    status = DECISIONS.get(decision)
    if status is None:
        raise Invalid("Approve, reject, or ask for information.", errors={"decision": decision})
    reason = reason.strip()
    if status != ClaimStatus.APPROVED and not reason:
        raise Invalid("Say why: the centre reads it.", errors={"reason": "Give the reason."})
    now = utcnow()
    done = session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == ClaimStatus.SUBMITTED)
        .values(
            status=status,
            decided_by=_name(by),
            decided_at=now,
            decision_reason=reason or None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(claim)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"{claim.reference} was decided meanwhile: nothing was changed.")
    _event(
        claim,
        f"{status.value.replace('_', ' ').capitalize()}" + (f": {reason}" if reason else "."),
        by=_name(by),
        at=now,
    )
    session.flush()


def pay(
    session: Session, *, centre_id: int, period_from: date, period_to: date, by: User
) -> PaymentBatch:
    """Pay the centre's approved claims decided in the period, in one batch (each claim once:
    a claim paid by a batch made at the same moment is not paid again).

    :raises Invalid: no claim to pay (no empty batch is made).
    """
    if _person(by).role not in REVIEWERS:
        raise NotAllowed("Claim reviewers make payment batches.")
    now = utcnow()
    batch = PaymentBatch(
        centre_id=centre_id,
        period_from=period_from,
        period_to=period_to,
        total=Decimal("0"),
        created_by=by.email,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    batch.reference = f"PAY-{now:%Y}-{batch.id:06d}"
    candidates = session.scalars(
        select(Claim).where(
            Claim.centre_id == centre_id,
            Claim.status == ClaimStatus.APPROVED,
            Claim.payment_batch_id.is_(None),
        )
    ).all()
    total = Decimal("0")
    for claim in candidates:
        if claim.decided_at is None or not (period_from <= claim.decided_at.date() <= period_to):
            continue
        done = session.execute(
            update(Claim)
            .where(Claim.id == claim.id, Claim.payment_batch_id.is_(None))
            .values(payment_batch_id=batch.id, status=ClaimStatus.PAID, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            total += claim.total
            session.refresh(claim)
            _event(claim, f"Paid in {batch.reference}.", by=_name(by), at=now)
    if total == 0 and not session.scalar(
        select(Claim.id).where(Claim.payment_batch_id == batch.id).limit(1)
    ):
        raise Invalid(
            "No approved claim of this centre decided in that period waits for payment: "
            "nothing was paid.",
            errors={"period_to": "No claims to pay in this period."},
        )
    batch.total = total
    session.flush()
    return batch


def batch_csv(session: Session, batch: PaymentBatch) -> str:
    """The batch as CSV: one row per claim line, then the total (which the rows add up to)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["batch", "claim", "repair", "serial", "line", "description", "amount"])
    claims = session.scalars(
        select(Claim)
        .where(Claim.payment_batch_id == batch.id)
        .options(selectinload(Claim.lines))
        .order_by(Claim.id)
    ).all()
    for claim in claims:
        repair = session.get(Repair, claim.repair_id)
        for line in claim.lines:
            writer.writerow(
                [
                    batch.reference or "",
                    claim.reference or "",
                    repair.reference if repair else "",
                    escape_cell(claim.faulty_serial or ""),
                    line.kind.value,
                    escape_cell(line.description),
                    f"{line.amount:.2f}",
                ]
            )
    writer.writerow([batch.reference or "", "", "", "", "total", "", f"{batch.total:.2f}"])
    return out.getvalue()
