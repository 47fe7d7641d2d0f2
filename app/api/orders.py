"""Orders over JSON: place (resolved through the catalogue, stock reserved), list, read, return.

The JSON edge of ordering: it parses, calls the same service functions as the pages, and answers;
refusals are ``AppError``s, answered in the API's one error shape by ``app.errors``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from app.access import roles, signed_in
from app.api import bp
from app.auth.models import User
from app.db import get_session
from app.extensions import current_settings
from app.orders import policy, services
from app.orders.documents import order_document, return_document
from app.orders.models import RETURN_REASONS, OrderKind

ORDERERS = tuple(policy.ORDERERS)
#: Ids are 32-bit integers in the database; a larger one in a URL names no order (404), where
#: PostgreSQL would refuse to compare it (a 500).
MAX_ID = 2**31 - 1


def _quantity_problem(value: object) -> str | None:
    # JSON integers only: 1.5 would be cut to 1, and "2", 1e0 or true are some other client's
    # idea of a number. bool is an int in Python, so it is refused by name.
    if type(value) is not int or not 1 <= value <= services.MAX_QUANTITY:
        return (
            f"the quantity must be a whole number from 1 to {services.MAX_QUANTITY} "
            f"(a JSON integer), not {json.dumps(value)}"
        )
    return None


class LineArgs(Schema):
    part_number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=services.MAX_QUANTITY)
    )
    serial = fields.String(load_default=None, validate=validate.Length(max=40))
    #: The line's conditional replacement is confirmed to apply to the unit (its note was read).
    acknowledge_conditions = fields.Boolean(load_default=False, truthy={True}, falsy={False})


class OrderArgs(Schema):
    reference = fields.String(load_default=None, validate=validate.Length(max=80))
    kind = fields.String(
        load_default=OrderKind.PAID.value,
        validate=validate.OneOf([OrderKind.PAID.value, OrderKind.WARRANTY.value]),
    )
    job = fields.String(load_default=None, validate=validate.Length(max=80))
    lines = fields.List(
        fields.Nested(LineArgs),
        required=True,
        validate=validate.Length(min=1, max=services.MAX_LINES),
    )

    @pre_load
    def _whole_quantities(self, data: Any, **_kwargs: Any) -> Any:
        """Name each line whose quantity is not a whole number, counting lines from 1."""
        lines = data.get("lines") if isinstance(data, dict) else None
        if isinstance(lines, list):
            problems = {
                f"line {i}": [problem]
                for i, line in enumerate(lines, start=1)
                if isinstance(line, dict)
                and (problem := _quantity_problem(line.get("quantity"))) is not None
            }
            if problems:
                raise ValidationError(problems)
        return data


class ReturnArgs(Schema):
    item = fields.Integer(required=True)
    quantity = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=services.MAX_QUANTITY)
    )
    reason = fields.String(
        required=True, validate=validate.OneOf([r.value for r in RETURN_REASONS])
    )
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    model_number = fields.String(load_default=None, validate=validate.Length(max=40))


def _user() -> User:
    """The caller as a row, for the services (never the request's proxy)."""
    user: User = current_user._get_current_object()
    return user


@bp.route("/orders", methods=["POST"])
@bp.arguments(OrderArgs)
@roles(*ORDERERS)
def place_order(args: dict[str, Any]) -> ResponseReturnValue:
    """Place an order: each line resolved through the catalogue today (a kit ships one item per
    kit part), stock reserved, the rest backordered; 422 naming every line that cannot be
    ordered, and nothing placed. A line whose replacement is conditional is placed only with
    ``"acknowledge_conditions": true`` (the condition was read and applies) or, for a serial
    range, the unit's ``serial``. Quantities are JSON integers, 1 to 999. ``Idempotency-Key``
    (at most 80 characters): the same key and content again returns that order (200); the key
    with other content is a 409; a longer key is a 422 (it is never cut)."""
    session = get_session()
    asked = [
        services.Asked(
            line["part_number"],
            line["quantity"],
            line.get("serial"),
            line=i,
            acknowledged=line["acknowledge_conditions"],
        )
        for i, line in enumerate(args["lines"], start=1)
    ]
    order, new = services.place_order(
        session,
        _user(),
        asked,
        mailer=current_settings().mail,
        reference=args.get("reference"),
        kind=args["kind"],
        job=args.get("job"),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return order_document(order), 201 if new else 200


@bp.route("/orders", methods=["GET"])
@signed_in
def list_orders() -> ResponseReturnValue:
    """Orders you may see: yours (technicians), your centre's (managers), all (admins)."""
    return {"orders": [order_document(o) for o in services.orders_for(get_session(), _user())]}


@bp.route(f"/orders/<int(max={MAX_ID}):order_id>", methods=["GET"])
@signed_in
def get_order(order_id: int) -> ResponseReturnValue:
    """One order; 404 for an order you may not see."""
    return order_document(services.order_for(get_session(), _user(), order_id))


@bp.route(f"/orders/<int(max={MAX_ID}):order_id>/returns", methods=["POST"])
@bp.arguments(ReturnArgs)
@roles(*ORDERERS)
def return_part(args: dict[str, Any], order_id: int) -> ResponseReturnValue:
    """Ask to return a delivered item; a catalogue error is accepted at once and reported to
    the engineers."""
    session = get_session()
    user = _user()
    order = services.order_for(session, user, order_id)
    services.may_return(user, order)
    made = services.request_return(
        session,
        order,
        args["item"],
        quantity=args["quantity"],
        reason=args["reason"],
        note=args["note"],
        model_number=args.get("model_number"),
        by=user.email,
    )
    return return_document(made), 201
