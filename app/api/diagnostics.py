"""Diagnostic walks over JSON: start by tree or by code and model, answer, go back."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.access import signed_in, signed_in_user
from app.api import bp
from app.db import get_session
from app.diagnose.documents import (
    labour_rate,
    plausible_document,
    require_change,
    session_document,
)
from app.notices import services as notices
from diagnostics import services
from diagnostics.errors import ImplausibleValue, InvalidAnswer, NoTreeFound
from diagnostics.models import PUBLISHED, DiagnosticSession
from parts_catalog.services import latest_release


class StartArgs(Schema):
    tree = fields.String(validate=validate.Length(min=1, max=80))
    code = fields.String(validate=validate.Length(min=3, max=40))
    model = fields.String(validate=validate.Length(min=1, max=40))
    serial = fields.String(validate=validate.Length(max=40))

    @validates_schema
    def _one_way_in(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data.get("tree") and not (data.get("code") and data.get("model")):
            raise ValidationError("Give a tree, or a code and a model.")


class AnswerArgs(Schema):
    option = fields.String(validate=validate.Length(min=1, max=200))
    value = fields.Raw()
    proceed = fields.Boolean(data_key="continue", load_default=False)
    node = fields.String(
        validate=validate.Length(max=80),
        metadata={"description": "The node answered; if given and not the current one, 422."},
    )
    confirm_implausible = fields.Boolean(
        load_default=False,
        metadata={
            "description": "With a value outside the measurement's plausible range: the "
            "technician measured again and the value is right (without it, 422)."
        },
    )

    @validates_schema
    def _one_answer(self, data: dict[str, Any], **_kwargs: Any) -> None:
        given = [k for k in ("option", "value") if data.get(k) is not None] + (
            ["continue"] if data.get("proceed") else []
        )
        if len(given) != 1:
            raise ValidationError('Give exactly one of "option", "value" or "continue".')


def _document(walk_session: DiagnosticSession) -> dict[str, Any]:
    session = get_session()
    release = latest_release(session)
    state = services.state(session, walk_session, labour_rate=labour_rate())
    return session_document(state, release=release.label if release else "")


@bp.route("/diagnostics/sessions", methods=["POST"])
@bp.arguments(StartArgs)
@bp.response(201)
@signed_in
def start_session(args: dict[str, Any]) -> dict[str, Any]:
    """Start a walk: ``{"tree": ID}`` or ``{"code": "blink:6", "model": "KDL-55W800C"}``; 404 when
    no published tree matches."""
    session = get_session()
    if args.get("tree"):
        revision = services.get_revision(session, args["tree"])
        if revision.status != PUBLISHED:
            raise NoTreeFound(f"Tree “{args['tree']}” has no published revision.")
        codes = {c.code for c in revision.codes}
        if args.get("code") and services.normal_code(args["code"]) not in codes:
            raise InvalidAnswer(f"Tree “{args['tree']}” does not answer {args['code']}.")
    else:
        revision = services.find_by_code(session, args["code"], args["model"])
    walk_session = services.start(
        session,
        revision,
        by=current_user.email,
        centre_id=current_user.centre_id,
        model_number=args.get("model"),
        serial=args.get("serial"),
        code=args.get("code"),
    )
    return _document(walk_session)


@bp.route("/diagnostics/sessions/<session_id>", methods=["GET"])
@bp.response(200)
@signed_in
def get_walk(session_id: str) -> dict[str, Any]:
    """Where a walk stands: the node, the path so far, at a fix the parts and the estimate."""
    return _document(services.get(get_session(), session_id))


@bp.route("/diagnostics/sessions/<session_id>/answers", methods=["POST"])
@bp.arguments(AnswerArgs)
@bp.response(200)
@signed_in
def answer_walk(args: dict[str, Any], session_id: str) -> ResponseReturnValue:
    """Answer the current node: ``{"option": LABEL}``, ``{"value": NUMBER}`` or
    ``{"continue": true}``; an answer that does not fit the node is a 422 and changes nothing.
    A value outside the measurement's plausible range is a 422 naming the range (``plausible``)
    and the request that confirms it (``confirm_with``: the value and
    ``"confirm_implausible": true``)."""
    session = get_session()
    walk_session = services.get(session, session_id, for_update=True)
    require_change(walk_session)
    # A tree (or a model) under a safety notice: 409 naming the notices to acknowledge first.
    notices.require_safety_acknowledged(
        session,
        signed_in_user(),
        tree_id=walk_session.revision.tree_id,
        model_number=walk_session.model_number,
    )
    try:
        services.answer(
            session,
            walk_session,
            option=args.get("option"),
            value=args.get("value"),
            proceed=args.get("proceed", False),
            at_node=args.get("node"),
            confirm_implausible=args["confirm_implausible"],
        )
    except ImplausibleValue as exc:
        value = int(exc.value) if exc.value.is_integer() else exc.value
        return jsonify(
            error="Implausible value",
            message=f'{exc} To confirm, send {{"value": {value}, "confirm_implausible": true}}.',
            status=422,
            value=value,
            plausible=plausible_document(exc.low, exc.high, exc.unit),
            confirm_with={"value": value, "confirm_implausible": True},
        ), 422
    document = _document(walk_session)
    return {"node": document["node"], "path": document["path"], "session": document}


@bp.route("/diagnostics/sessions/<session_id>/back", methods=["POST"])
@bp.response(200)
@signed_in
def back_walk(session_id: str) -> dict[str, Any]:
    """Take back the last answer."""
    session = get_session()
    walk_session = services.get(session, session_id, for_update=True)
    require_change(walk_session)
    services.back(session, walk_session)
    document = _document(walk_session)
    return {"node": document["node"], "path": document["path"], "session": document}
