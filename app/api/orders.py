"""Orders over JSON: place (resolved through the catalogue, stock reserved), list, read, return."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import Schema, fields, validate

from app.access import roles, signed_in
from app.api import bp
from app.db import get_session
from app.orders import services
from app.orders.documents import order_document, return_document
from app.orders.models import RETURN_REASONS
from app.roles import Role

ORDERERS = (Role.TECHNICIAN, Role.CENTRE_MANAGER)
#: Ids are 32-bit integers in the database; a larger one in a URL names no order (404), where
#: PostgreSQL would refuse to compare it (a 500).
MAX_ID = 2**31 - 1


class LineArgs(Schema):
    part_number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(
        required=True, validate=validate.Range(min=1, max=services.MAX_QUANTITY)
    )
    serial = fields.String(load_default=None, validate=validate.Length(max=40))


class OrderArgs(Schema):
    reference = fields.String(load_default=None, validate=validate.Length(max=80))
    kind = fields.String(load_default="paid", validate=validate.OneOf(["paid", "warranty"]))
    job = fields.String(load_default=None, validate=validate.Length(max=80))
    lines = fields.List(
        fields.Nested(LineArgs),
        required=True,
        validate=validate.Length(min=1, max=services.MAX_LINES),
    )


class ReturnArgs(Schema):
    item = fields.Integer(required=True)
    quantity = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=services.MAX_QUANTITY)
    )
    reason = fields.String(required=True, validate=validate.OneOf(list(RETURN_REASONS)))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    model_number = fields.String(load_default=None, validate=validate.Length(max=40))


@bp.route("/orders", methods=["POST"])
@bp.arguments(OrderArgs)
@roles(*ORDERERS)
def place_order(args: dict[str, Any]) -> ResponseReturnValue:
    """Place an order: each line resolved through the catalogue today (a kit ships one item per
    kit part), stock reserved, the rest backordered; 422 naming every line that cannot be
    ordered, and nothing placed. ``Idempotency-Key``: the same key again returns that order."""
    session = get_session()
    asked = [
        services.Asked(line["part_number"], line["quantity"], line.get("serial"), line=i)
        for i, line in enumerate(args["lines"], start=1)
    ]
    try:
        order, new = services.place(
            session,
            current_user,
            asked,
            reference=args.get("reference"),
            kind=args["kind"],
            job=args.get("job"),
            idempotency_key=(request.headers.get("Idempotency-Key") or "")[:80] or None,
        )
    except services.OrderError as exc:
        session.rollback()
        return jsonify(error="Not accepted", message=str(exc), errors=exc.problems), 422
    session.commit()
    return order_document(order), 201 if new else 200


@bp.route("/orders", methods=["GET"])
@signed_in
def list_orders() -> ResponseReturnValue:
    """Orders you may see: yours (technicians), your centre's (managers), all (admins)."""
    return {"orders": [order_document(o) for o in services.orders_for(get_session(), current_user)]}


@bp.route(f"/orders/<int(max={MAX_ID}):order_id>", methods=["GET"])
@signed_in
def get_order(order_id: int) -> ResponseReturnValue:
    """One order; 404 for an order you may not see."""
    order = services.get_order(get_session(), current_user, order_id)
    if order is None:
        abort(404)
    return order_document(order)


@bp.route(f"/orders/<int(max={MAX_ID}):order_id>/returns", methods=["POST"])
@bp.arguments(ReturnArgs)
@roles(*ORDERERS)
def return_part(args: dict[str, Any], order_id: int) -> ResponseReturnValue:
    """Ask to return a delivered item; a catalogue error is accepted at once and reported to
    the engineers."""
    session = get_session()
    order = services.get_order(session, current_user, order_id)
    if order is None:
        abort(404)
    try:
        made = services.request_return(
            session,
            order,
            args["item"],
            quantity=args["quantity"],
            reason=args["reason"],
            note=args["note"],
            model_number=args.get("model_number"),
            by=current_user.email,
        )
    except services.OrderError as exc:
        session.rollback()
        return jsonify(error="Not accepted", message=str(exc)), 422
    session.commit()
    return return_document(made), 201
