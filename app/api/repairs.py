"""The repairs API: open a repair, read it, move it along, attach to it, a unit's history, and
the exchange programme (request an exchange, an approver's decision).

The JSON edge of repairs: it parses, calls the same service functions as the pages, and
answers; refusals are ``AppError``s answered in the API's one error shape by ``app.errors``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from app.access import roles, signed_in, signed_in_user
from app.api import bp
from app.api.schemas import (
    ExchangeDecisionArgs,
    ExchangeRequestArgs,
    RepairArgs,
    RepairLinkArgs,
    RepairStatusArgs,
    RepairWalkArgs,
)
from app.db import get_session
from app.diagnose.documents import labour_rate, session_document
from app.errors import TITLES
from app.extensions import current_settings
from app.models import utcnow
from app.repairs import exchange, policy, services
from app.repairs.documents import (
    authorisation_document,
    history_document,
    repair_document,
    repair_summary,
    repair_url,
)
from diagnostics import services as diagnostics
from parts_catalog.services import latest_release

REPAIRERS = tuple(policy.REPAIRERS)
APPROVERS = tuple(policy.APPROVERS)


def _asked(args: dict[str, Any]) -> tuple[services.NewRepair, dict[str, str]]:
    """What was sent as the service takes it, and a purchase date that is not a date."""
    problems: dict[str, str] = {}
    purchase_on = None
    typed = (args.get("purchase_date") or "").strip()
    if typed:
        try:
            purchase_on = date.fromisoformat(typed)
        except ValueError:
            problems["purchase_date"] = "Give the purchase date as YYYY-MM-DD (2026-03-14)."
    asked = services.NewRepair(
        model_number=args.get("model_number") or "",
        serial=args.get("serial") or "",
        complaint=args.get("complaint") or "",
        purchase_on=purchase_on,
        symptom_code=args.get("symptom_code"),
        customer_name=args.get("customer_name"),
        customer_contact=args.get("customer_contact"),
    )
    return asked, problems


def _refuse(asked: services.NewRepair, problems: dict[str, str]) -> None:
    """Refuse naming every field at once: what is malformed and what the checks refuse."""
    _model, meaning = services.check_new(get_session(), asked, today=utcnow().date())
    errors = {**meaning, **problems}
    raise services.RepairError(
        "The repair was not opened: " + "; ".join(errors.values()), errors=errors
    )


class OpenRepairArgs(RepairArgs):
    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        if not isinstance(data, dict):
            raise services.RepairError(
                "Send the repair as a JSON object.", errors={"body": "A JSON object."}
            )
        messages = error.messages if isinstance(error.messages, dict) else {}
        shape = {str(name): _first(problem) for name, problem in messages.items()}
        text = {k: v if isinstance(v, str) else None for k, v in data.items()}
        asked, problems = _asked(text)
        _refuse(asked, {**problems, **shape})


def _first(problem: Any) -> str:
    while isinstance(problem, list | dict):
        problem = next(iter(problem.values() if isinstance(problem, dict) else problem), "")
    return str(problem)


def _already_open(exc: services.AlreadyOpen) -> ResponseReturnValue:
    """409 in the one error shape, naming the repair in progress so a client can continue it."""
    standing = exc.repair
    body = {
        "error": TITLES[409],
        "message": exc.message,
        "status": 409,
        "errors": {"serial": f"{standing.reference} is open for this unit."},
        "repair": {
            "reference": standing.reference,
            "status": standing.status.value,
            "url": repair_url(standing.reference or ""),
        },
    }
    return jsonify(body), 409


@bp.route("/repairs", methods=["POST"])
@bp.arguments(OpenRepairArgs)
@roles(*REPAIRERS)
def open_repair(args: dict[str, Any]) -> ResponseReturnValue:
    """Open the repair of one unit for your centre: ``model_number``*, ``serial``*,
    ``complaint``*, ``purchase_date`` (YYYY-MM-DD), ``symptom_code``, ``customer_name``,
    ``customer_contact`` → 201 ``{id, reference, status, redo_of, ...}`` (``redo_of``: the
    unit's repair that ended repaired within REDO_DAYS, at any centre); 422 naming every field;
    409 when the unit has a repair in progress here (``repair`` names it). ``Idempotency-Key``
    (at most 80 characters): the same key and content again answers with that repair (200);
    the key with other content is a 409."""
    asked, problems = _asked(args)
    if problems:
        _refuse(asked, problems)
    try:
        repair, new = services.open_repair(
            get_session(),
            by=signed_in_user(),
            asked=asked,
            settings=current_settings().repairs,
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
    except services.AlreadyOpen as exc:
        return _already_open(exc)
    return repair_summary(repair), 201 if new else 200


@bp.route("/repairs/<reference>", methods=["GET"])
@signed_in
def get_repair(reference: str) -> ResponseReturnValue:
    """A repair with its timeline, what is attached to it, its redos and its exchanges (with
    their RMA); 404 for another centre's, as for one that does not exist."""
    session = get_session()
    user = signed_in_user()
    repair = services.repair_for(session, user, reference)
    return repair_document(session, repair, viewer=user)


@bp.route("/repairs/<reference>/status", methods=["POST"])
@bp.arguments(RepairStatusArgs)
@roles(*REPAIRERS)
def change_repair_status(args: dict[str, Any], reference: str) -> ResponseReturnValue:
    """Move a repair along; ``seen`` (the status you read) makes a stale change a 409."""
    session = get_session()
    user = signed_in_user()
    repair = services.repair_to_work_on(session, user, reference)
    services.change_status(
        session, repair, to=args["status"], seen=args.get("seen"), by=user, note=args["note"]
    )
    return repair_document(session, repair, viewer=user)


@bp.route("/repairs/<reference>/links", methods=["POST"])
@bp.arguments(RepairLinkArgs)
@roles(*REPAIRERS)
def attach_to_repair(args: dict[str, Any], reference: str) -> ResponseReturnValue:
    """Attach your centre's walk, order or escalation of the same unit: 201, or 200 when it is
    attached already; 409 when it is part of another repair."""
    session = get_session()
    user = signed_in_user()
    repair = services.repair_to_work_on(session, user, reference)
    before = len(repair.links)
    services.attach(session, repair, kind=args["kind"], ref=args["ref"], by=user)
    return repair_document(session, repair, viewer=user), 201 if len(repair.links) > before else 200


@bp.route("/repairs/<reference>/walks", methods=["POST"])
@bp.arguments(RepairWalkArgs)
@roles(*REPAIRERS)
def start_repair_walk(args: dict[str, Any], reference: str) -> ResponseReturnValue:
    """Start a walk of a published tree for the repair's unit (its model and serial filled in),
    attached to the repair: 201 with the walk as ``/diagnostics/sessions`` answers it."""
    session = get_session()
    user = signed_in_user()
    repair = services.repair_to_work_on(session, user, reference)
    walk = services.start_walk(session, repair, tree_id=args["tree"], by=user, code=args["code"])
    release = latest_release(session)
    state = diagnostics.state(session, walk, labour_rate=labour_rate())
    document = session_document(state, release=release.label if release else "")
    return {**document, "repair": repair.reference}, 201


@bp.route("/serials/<model>/<serial>/history", methods=["GET"])
@signed_in
def unit_history(model: str, serial: str) -> ResponseReturnValue:
    """Everything done to one unit, at every centre: repairs, walks, parts ordered, exchanges.
    Another centre's repairs come without their reference, complaint and customer details."""
    found = services.history(
        get_session(), viewer=signed_in_user(), model_number=model, serial=serial
    )
    return history_document(found)


@bp.route("/repairs/<reference>/exchange", methods=["POST"])
@bp.arguments(ExchangeRequestArgs)
@roles(*REPAIRERS)
def request_exchange(args: dict[str, Any], reference: str) -> ResponseReturnValue:
    """Ask to exchange the repair's unit: 201 ``{authorisation, status: approved|pending|refused,
    reason, inputs, order, rma}``. While one is approved or pending, asking again answers with
    it (200): one order and one RMA however often it is sent."""
    session = get_session()
    user = signed_in_user()
    repair = services.repair_to_work_on(session, user, reference)
    authorisation, new = exchange.request_exchange(
        session, repair, by=user, walk_id=args.get("walk")
    )
    return authorisation_document(authorisation), 201 if new else 200


@bp.route("/exchanges/<number>/decision", methods=["POST"])
@bp.arguments(ExchangeDecisionArgs)
@roles(*APPROVERS)
def decide_exchange(args: dict[str, Any], number: str) -> ResponseReturnValue:
    """An approver decides a pending request (a refusal says why); approving makes the
    replacement order and the RMA. Decided meanwhile by someone else: 409."""
    session = get_session()
    user = signed_in_user()
    authorisation = exchange.authorisation_for(session, user, number)
    exchange.decide_pending(
        session, authorisation, by=user, approve=args["approve"], note=args["note"]
    )
    return authorisation_document(authorisation)
