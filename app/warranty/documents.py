"""Entitlements and claims as JSON documents (the API's shapes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.warranty.entitlement import Entitlement
from app.warranty.models import Claim, PaymentBatch


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def entitlement_document(found: Entitlement, *, model_number: str, serial: str) -> dict[str, Any]:
    return {
        "model_number": model_number,
        "serial": serial,
        "status": found.status.value,
        "parts_until": found.parts_until.isoformat() if found.parts_until else None,
        "labour_until": found.labour_until.isoformat() if found.labour_until else None,
        "source": found.source,
        "summary": found.summary,
        "proof_needed": found.proof_needed,
    }


def claim_document(
    claim: Claim, *, repair_reference: str | None, problems: list[str] | None = None
) -> dict[str, Any]:
    return {
        "id": claim.id,
        "reference": claim.reference,
        "repair": repair_reference,
        "status": claim.status.value,
        "version": claim.version,
        "labour_code": claim.labour_code,
        "fault": claim.fault,
        "faulty_serial": claim.faulty_serial,
        "replacement_serial": claim.replacement_serial,
        "total": _amount(claim.total),
        "lines": [
            {
                "kind": line.kind.value,
                "description": line.description,
                "part_number": line.part_number,
                "order": line.order_id,
                "quantity": line.quantity,
                "amount": _amount(line.amount),
                "faulty_serial": line.faulty_serial,
                "replacement_serial": line.replacement_serial,
            }
            for line in claim.lines
        ],
        "problems": problems or [],
        "flags": list(claim.flags or []),
        "decision": {
            "by": claim.decided_by,
            "at": claim.decided_at.isoformat() if claim.decided_at else None,
            "reason": claim.decision_reason,
        },
        "history": [
            {"at": event.at.isoformat(), "by": event.by, "text": event.text}
            for event in claim.events
        ],
    }


def batch_document(batch: PaymentBatch, *, claims: list[Claim]) -> dict[str, Any]:
    return {
        "reference": batch.reference,
        "period_from": batch.period_from.isoformat(),
        "period_to": batch.period_to.isoformat(),
        "total": _amount(batch.total),
        "claims": [{"reference": c.reference, "total": _amount(c.total)} for c in claims],
    }
