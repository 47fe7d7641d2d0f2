"""Proofs of purchase: a receipt or an invoice kept with a repair (the type read from the
content, not the name), which makes its purchase date count for the warranty."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations.attachments import kind_of
from app.exceptions import Invalid, NotAllowed
from app.models import utcnow
from app.repairs import policy
from app.repairs.models import EventKind, Repair, RepairEvent
from app.repairs.services import facts_of, person_of
from app.storable import CONTROL
from app.warranty.models import PurchaseProof

#: What a receipt is: a PDF or a photo.
PROOF_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})


def attach_proof(
    session: Session, repair: Repair, *, by: User, content: bytes, filename: str, limit: int
) -> PurchaseProof:
    """Keep a proof of purchase with the repair (``content`` read to at most ``limit`` + 1
    bytes by the caller).

    :raises NotAllowed: not the repair's centre.
    :raises Invalid: empty, too large, not a PDF or a photo, or the repair has no purchase date.
    """
    if not policy.may_work_on(person_of(by), facts_of(repair)):
        raise NotAllowed("Only the repair's own service centre adds its proof of purchase.")
    name = CONTROL.sub("", filename or "").strip()[-200:] or "proof"
    if repair.purchase_on is None:
        raise Invalid(
            "Give the repair's purchase date first: the proof is of that date.",
            errors={"proof": "The repair has no purchase date."},
        )
    if not content:
        raise Invalid("The file is empty.", errors={"proof": "Choose the receipt or invoice."})
    if len(content) > limit:
        raise Invalid(
            f"{name} is larger than {limit // (1024 * 1024)} MB.",
            errors={"proof": "Send a smaller file (a photo of the receipt will do)."},
        )
    content_type = kind_of(content[:1024])
    if content_type not in PROOF_TYPES:
        raise Invalid(
            f"{name} is not a PDF or a photo (JPEG, PNG).",
            errors={"proof": "A receipt or an invoice: PDF, JPEG or PNG."},
        )
    now = utcnow()
    proof = PurchaseProof(
        repair_id=repair.id,
        filename=name,
        content_type=content_type,
        size=len(content),
        content=content,
        uploaded_by=by.email,
        uploaded_at=now,
    )
    session.add(proof)
    session.add(
        RepairEvent(
            repair_id=repair.id,
            kind=EventKind.NOTE,
            by=by.name or by.email,
            at=now,
            text=f"Proof of purchase added: {name}.",
        )
    )
    session.flush()
    return proof


def proofs_of(session: Session, repair: Repair) -> list[PurchaseProof]:
    return list(
        session.scalars(
            select(PurchaseProof)
            .where(PurchaseProof.repair_id == repair.id)
            .order_by(PurchaseProof.id)
        )
    )
