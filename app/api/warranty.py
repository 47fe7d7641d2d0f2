"""The warranty API: a unit's entitlement, proofs of purchase, claims (draft, correct, submit,
decide) and payment batches.

The JSON edge of ``app.warranty``: it parses, calls the same services as the pages, and answers;
refusals are ``AppError``s, answered in the API's one error shape by ``app.errors``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate

from app.access import roles, signed_in, signed_in_user
from app.api import bp
from app.db import get_session
from app.exceptions import Invalid
from app.extensions import current_settings
from app.repairs import policy as repair_policy
from app.repairs import services as repairs
from app.repairs.models import Repair
from app.warranty import claims
from app.warranty.documents import batch_document, claim_document, entitlement_document
from app.warranty.entitlement import entitlement
from app.warranty.models import Claim
from app.warranty.proofs import attach_proof

REPAIRERS = tuple(repair_policy.REPAIRERS)
REVIEWERS = tuple(claims.REVIEWERS)


class EntitlementArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    model = fields.String(required=True, validate=validate.Length(min=1, max=40))
    serial = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ProofArgs(Schema):
    proof = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": "PDF, JPEG or PNG"},
    )


class PartArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    part_number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=999))
    faulty_serial = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=40)
    )
    replacement_serial = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=40)
    )


class ClaimFields(Schema):
    class Meta:
        unknown = EXCLUDE

    labour_code = fields.String(validate=validate.Length(max=20))
    fault = fields.String(allow_none=True, validate=validate.Length(max=20))
    travel = fields.String(
        allow_none=True, metadata={"description": "An amount (12.50), where the line allows it"}
    )
    faulty_serial = fields.String(allow_none=True, validate=validate.Length(max=40))
    replacement_serial = fields.String(allow_none=True, validate=validate.Length(max=40))
    parts = fields.List(
        fields.Nested(PartArgs),
        allow_none=True,
        metadata={"description": "Without it, every part of the repair's warranty orders"},
    )


class NewClaimArgs(ClaimFields):
    repair = fields.String(required=True, metadata={"description": "REP-2026-000123"})
    labour_code = fields.String(required=True, validate=validate.Length(min=1, max=20))


class EditClaimArgs(ClaimFields):
    version = fields.Integer(
        required=True, metadata={"description": "The version you read: 409 if it changed"}
    )


class SubmitArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    version = fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "The version you read (default: the current one)"},
    )


class DecisionArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    decision = fields.String(required=True, validate=validate.OneOf(sorted(claims.DECISIONS)))
    reason = fields.String(load_default="", validate=validate.Length(max=4000))


class BatchArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    centre_id = fields.Integer(required=True)
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True)


def _travel(args: dict[str, Any]) -> Decimal | None:
    typed = (args.get("travel") or "").strip()
    if not typed:
        return None
    try:
        amount = Decimal(typed)
    except InvalidOperation:
        amount = Decimal("-1")
    if not amount.is_finite() or amount < 0 or amount > Decimal("10000"):
        raise Invalid("Travel is an amount like 12.50.", errors={"travel": "An amount."})
    return amount.quantize(Decimal("0.01"))


def _parts(args: dict[str, Any]) -> list[claims.PartClaimed] | None:
    parts = args.get("parts")
    if parts is None:
        return None
    return [
        claims.PartClaimed(
            p["part_number"].strip(),
            p["quantity"],
            p.get("faulty_serial"),
            p.get("replacement_serial"),
        )
        for p in parts
    ]


def _document(claim: Claim, *, with_problems: bool = False) -> dict[str, Any]:
    session = get_session()
    repair = session.get(Repair, claim.repair_id)
    found = (
        claims.problems(session, claim, settings=current_settings().warranty)
        if with_problems and claim.status in claims.EDITABLE
        else []
    )
    return claim_document(
        claim, repair_reference=repair.reference if repair else None, problems=found
    )


@bp.route("/entitlement", methods=["GET"])
@bp.arguments(EntitlementArgs, location="query")
@signed_in
def get_entitlement(args: dict[str, Any]) -> dict[str, Any]:
    """Whether a unit is in warranty: ``{status: in_warranty | out_of_warranty | unknown,
    parts_until, labour_until, source}`` (the last days covered; ``unknown`` when the purchase
    date has no proof and no extended coverage names the serial)."""
    session = get_session()
    found = entitlement(session, model_number=args["model"], serial=args["serial"])
    return entitlement_document(found, model_number=args["model"], serial=args["serial"])


@bp.route("/repairs/<reference>/proof", methods=["POST"])
@bp.arguments(ProofArgs, location="files")
@roles(*REPAIRERS)
def add_proof(args: dict[str, Any], reference: str) -> ResponseReturnValue:
    """Add the proof of purchase (multipart field ``proof``: PDF, JPEG or PNG) to a repair."""
    session = get_session()
    user = signed_in_user()
    repair = repairs.repair_for(session, user, reference)
    upload = args["proof"]
    limit = current_settings().warranty.proof_max_bytes
    proof = attach_proof(
        session,
        repair,
        by=user,
        content=upload.stream.read(limit + 1),
        filename=upload.filename or "",
        limit=limit,
    )
    return {"filename": proof.filename, "content_type": proof.content_type, "size": proof.size}, 201


@bp.route("/claims", methods=["GET"])
@roles(*REPAIRERS, *REVIEWERS)
def list_claims() -> dict[str, Any]:
    """The centre's claims (a reviewer's: every centre's), with the total per status."""
    session = get_session()
    found = claims.claims_for(session, signed_in_user())
    return {
        "claims": [_document(c) for c in found],
        "totals": {status: f"{amount:.2f}" for status, amount in claims.totals(found).items()},
    }


@bp.route("/claims", methods=["POST"])
@bp.arguments(NewClaimArgs)
@roles(*REPAIRERS)
def create_claim(args: dict[str, Any]) -> ResponseReturnValue:
    """Draft a claim from a repair → 201 ``{id, reference (CLM-YYYY-NNNNNN), status,
    problems[]}``: ``problems`` lists what would stop its submission now."""
    session = get_session()
    user = signed_in_user()
    repair = repairs.repair_for(session, user, args["repair"])
    claim = claims.draft_claim(
        session,
        repair,
        by=user,
        labour_code=args["labour_code"],
        fault=args.get("fault"),
        travel=_travel(args),
        faulty_serial=args.get("faulty_serial"),
        replacement_serial=args.get("replacement_serial"),
        parts=_parts(args),
        settings=current_settings().warranty,
    )
    return _document(claim, with_problems=True), 201


@bp.route("/claims/<reference>", methods=["GET"])
@roles(*REPAIRERS, *REVIEWERS)
def get_claim(reference: str) -> dict[str, Any]:
    """A claim with its lines, decision and history (404 for another centre's)."""
    claim = claims.claim_for(get_session(), signed_in_user(), reference)
    return _document(claim, with_problems=True)


@bp.route("/claims/<reference>/edit", methods=["POST"])
@bp.arguments(EditClaimArgs)
@roles(*REPAIRERS)
def edit_claim(args: dict[str, Any], reference: str) -> dict[str, Any]:
    """Correct a draft or a claim sent back for information (the same claim; its history is
    kept); ``version`` is the one read (409 if it changed)."""
    session = get_session()
    user = signed_in_user()
    claim = claims.claim_for(session, user, reference)
    changes: dict[str, Any] = {
        k: args[k]
        for k in ("labour_code", "fault", "faulty_serial", "replacement_serial")
        if k in args
    }
    if "travel" in args:
        changes["travel"] = _travel(args)
    if args.get("parts") is not None:
        changes["parts"] = _parts(args)
    claims.edit_claim(
        session,
        claim,
        by=user,
        seen_version=args["version"],
        settings=current_settings().warranty,
        **changes,
    )
    return _document(claim, with_problems=True)


@bp.route("/claims/<reference>/submit", methods=["POST"])
@bp.arguments(SubmitArgs)
@roles(*REPAIRERS)
def submit_claim(args: dict[str, Any], reference: str) -> dict[str, Any]:
    """Submit a claim: 422 with every problem at once; 409 when it was submitted or changed
    meanwhile."""
    session = get_session()
    user = signed_in_user()
    claim = claims.claim_for(session, user, reference)
    version = args.get("version") or claim.version
    claims.submit(
        session, claim, by=user, seen_version=version, settings=current_settings().warranty
    )
    return _document(claim)


@bp.route("/claims/<reference>/decision", methods=["POST"])
@bp.arguments(DecisionArgs)
@roles(*REVIEWERS)
def decide_claim(args: dict[str, Any], reference: str) -> dict[str, Any]:
    """A reviewer's decision: ``approve``, ``reject`` or ``needs_information`` (with the
    reason the centre reads); 409 when decided meanwhile."""
    session = get_session()
    user = signed_in_user()
    claim = claims.claim_for(session, user, reference)
    claims.decide(session, claim, by=user, decision=args["decision"], reason=args["reason"])
    return _document(claim)


@bp.route("/payment-batches", methods=["POST"])
@bp.arguments(BatchArgs)
@roles(*REVIEWERS)
def make_batch(args: dict[str, Any]) -> ResponseReturnValue:
    """Pay a centre's claims approved in a period, in one batch → 201 with its total."""
    session = get_session()
    if args["period_from"] > args["period_to"]:
        raise Invalid("The period ends before it starts.", errors={"period_to": "After the start."})
    batch = claims.pay(
        session,
        centre_id=args["centre_id"],
        period_from=args["period_from"],
        period_to=args["period_to"],
        by=signed_in_user(),
    )
    return batch_document(batch, claims=claims.claims_of_batch(session, batch)), 201


@bp.route("/payment-batches/<reference>.csv", methods=["GET"])
@roles(*REVIEWERS)
def batch_csv(reference: str) -> ResponseReturnValue:
    """The batch as CSV: a row per claim line and the total they add up to."""
    session = get_session()
    batch = claims.batch_by_reference(session, reference)
    return Response(
        claims.batch_csv(session, batch),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{batch.reference}.csv"'},
    )
