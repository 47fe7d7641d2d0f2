"""Escalations over JSON: open one (idempotent), read one with its public timeline.

The JSON edge of escalations: it parses (a marshmallow schema, so the body is in the OpenAPI
document), calls the same service as the form, and answers; refusals are ``AppError``s,
answered in the API's one error shape ``{error, message, status, errors}`` by ``app.errors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.access import signed_in, signed_in_user
from app.api import bp
from app.db import get_session
from app.escalations import path, services
from app.escalations.models import PRIORITIES, Priority, Ticket
from app.extensions import current_settings

#: Where marshmallow would say "Missing data for required field." or "Not a valid string.",
#: the service's words: one message per field, the same from the form, the API and mail.
_TEXT: dict[str, str | list[Any] | dict[Any, Any]] = {
    "required": "Required.",
    "null": "Required.",
    "invalid": "Must be text.",
    "invalid_utf8": "Must be text.",
}
_OPTIONAL_TEXT: dict[str, str | list[Any] | dict[Any, Any]] = {**_TEXT, "null": "Must be text."}


def _text(limit: int, description: str, *, required: bool = False) -> fields.String:
    if required:
        return fields.String(
            required=True,
            error_messages=_TEXT,
            metadata={"description": description, "maxLength": limit},
        )
    return fields.String(
        load_default=None,
        allow_none=True,
        error_messages=_OPTIONAL_TEXT,
        metadata={"description": description, "maxLength": limit},
    )


class EscalationArgs(Schema):
    """An escalation as the API takes it. Unknown fields are ignored."""

    class Meta:
        unknown = EXCLUDE

    subject = _text(services.LIMITS["subject"], "One line: what happens.", required=True)
    description = _text(
        services.LIMITS["description"], "What happens, and what you tried.", required=True
    )
    category = fields.String(
        required=True,
        error_messages=_TEXT,
        metadata={"description": "One of the configured categories (ESCALATION_CATEGORIES)."},
    )
    model_number = _text(services.LIMITS["model_number"], "The unit's model.", required=True)
    serial = _text(services.LIMITS["serial"], "The unit's serial number.")
    priority = fields.String(
        load_default=Priority.NORMAL.value,
        error_messages=_TEXT,
        validate=validate.OneOf([p.value for p in PRIORITIES], error="One of: {choices}."),
    )
    diagnostic_session = _text(32, "The diagnostic walk this comes from.")

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        """Refuse in the service's terms: every field named at once, shape and meaning alike
        (a missing subject and an unknown category in one answer)."""
        if not isinstance(data, dict):
            raise services.TicketInvalid({}, "Send the escalation as a JSON object.")
        messages = error.messages if isinstance(error.messages, dict) else {}
        shape = {str(name): _first(problem) for name, problem in messages.items()}
        text = {k: v if isinstance(v, str) else None for k, v in data.items()}
        meaning = services.validate(_submission(text), current_settings().escalations.categories)
        raise services.TicketInvalid({**meaning, **shape})


def _first(problem: Any) -> str:
    while isinstance(problem, list | dict):
        problem = next(iter(problem.values() if isinstance(problem, dict) else problem), "")
    return str(problem)


def _submission(args: dict[str, Any]) -> services.Submission:
    return services.Submission(
        subject=args.get("subject") or "",
        description=args.get("description") or "",
        category=args.get("category") or "",
        model_number=args.get("model_number") or "",
        serial=args.get("serial"),
        priority=args.get("priority") or Priority.NORMAL.value,
        diagnostic_session=args.get("diagnostic_session"),
    )


class TimelineEntrySchema(Schema):
    kind = fields.String()
    author = fields.String()
    at = fields.String(metadata={"format": "date-time"})
    text = fields.String()


class PathRowSchema(Schema):
    step = fields.Integer()
    question = fields.String()
    answer = fields.String()
    measured = fields.String(metadata={"description": "The value with its unit, or empty."})
    walk = fields.String(metadata={"description": "The walk's id (/diagnose/sessions/<walk>)."})


class EscalationSchema(Schema):
    reference = fields.String()
    status = fields.String()
    tier = fields.String()
    priority = fields.String()
    category = fields.String()
    subject = fields.String()
    model_number = fields.String()
    serial = fields.String(allow_none=True)
    product_line = fields.String(allow_none=True)
    created_at = fields.String(metadata={"format": "date-time"})
    first_response_due = fields.String(metadata={"format": "date-time"})
    resolution_due = fields.String(metadata={"format": "date-time"})
    timeline = fields.List(fields.Nested(TimelineEntrySchema))
    diagnostic_path = fields.List(
        fields.Nested(PathRowSchema),
        metadata={"description": "The walk it came from, as it stood when the ticket opened."},
    )


def ticket_document(ticket: Ticket, rows: Sequence[path.PathRow] = ()) -> dict[str, Any]:
    return {
        "reference": ticket.reference,
        "status": ticket.status.value,
        "tier": ticket.tier.value,
        "priority": ticket.priority.value,
        "category": ticket.category,
        "subject": ticket.subject,
        "model_number": ticket.model_number,
        "serial": ticket.serial,
        "product_line": ticket.product_line,
        "created_at": ticket.created_at.isoformat(),
        "first_response_due": ticket.first_response_due.isoformat(),
        "resolution_due": ticket.resolution_due.isoformat(),
        "timeline": [
            {
                "kind": e.kind.value,
                "author": e.author,
                "at": e.created_at.isoformat(),
                "text": e.body,
            }
            for e in ticket.events
            if e.public
        ],
        "diagnostic_path": [asdict(row) for row in rows],
    }


@bp.route("/escalations", methods=["POST"])
@bp.arguments(EscalationArgs)
@bp.response(201, EscalationSchema)
@signed_in
def open_escalation(args: dict[str, Any]) -> ResponseReturnValue:
    """Open a ticket: ``subject``*, ``description``*, ``category``*, ``model_number``*,
    ``serial``, ``priority`` (normal|urgent), ``diagnostic_session`` → 201; 422 with a message
    per field in ``errors``. ``Idempotency-Key`` (at most 80 characters): the same key and
    content again answers with that ticket (201, as the first time); the key with other content
    is a 409; a longer key is a 422 (it is never cut)."""
    session = get_session()
    ticket, _new = services.open_ticket(
        session,
        signed_in_user(),
        _submission(args),
        settings=current_settings().escalations,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    # A repeated request answers as the first did: the same ticket, 201.
    return ticket_document(ticket, path.path_of(session, ticket)), 201


@bp.route("/escalations/<reference>", methods=["GET"])
@bp.response(200, EscalationSchema)
@signed_in
def get_escalation(reference: str) -> ResponseReturnValue:
    """The ticket and its public timeline: for its author, their centre's manager and agents
    (404 for anyone else)."""
    session = get_session()
    ticket = services.ticket_for(session, signed_in_user(), reference)
    return ticket_document(ticket, path.path_of(session, ticket))
