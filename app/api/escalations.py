"""Escalations over JSON: open one (idempotent), read one with its public timeline."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import signed_in
from app.api import bp
from app.db import get_session
from app.escalations import services
from app.escalations.models import Ticket

#: Idempotency keys are stored whole; a longer one is refused rather than cut (two keys sharing
#: their beginning would otherwise name one ticket).
KEY_LENGTH = 80


def ticket_document(ticket: Ticket) -> dict[str, Any]:
    return {
        "reference": ticket.reference,
        "status": ticket.status,
        "tier": ticket.tier,
        "priority": ticket.priority,
        "category": ticket.category,
        "subject": ticket.subject,
        "model_number": ticket.model_number,
        "serial": ticket.serial,
        "product_line": ticket.product_line,
        "created_at": ticket.created_at.isoformat(),
        "first_response_due": ticket.first_response_due.isoformat(),
        "resolution_due": ticket.resolution_due.isoformat(),
        "timeline": [
            {"kind": e.kind, "author": e.author, "at": e.created_at.isoformat(), "text": e.body}
            for e in ticket.events
            if e.public
        ],
    }


@bp.route("/escalations", methods=["POST"])
@signed_in
def open_escalation() -> ResponseReturnValue:
    """Open a ticket: ``subject``*, ``description``*, ``category``*, ``model_number``*,
    ``serial``, ``priority`` (normal|urgent), ``diagnostic_session``; ``Idempotency-Key``
    honoured → 201; 422 with a message per field."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="Not accepted", message="Send the escalation as JSON."), 422
    text = {
        k: body.get(k)
        for k in (
            "subject",
            "description",
            "category",
            "model_number",
            "serial",
            "priority",
            "diagnostic_session",
        )
    }
    wrong = {
        k: "Must be text." for k, v in text.items() if v is not None and not isinstance(v, str)
    }
    if wrong:
        return jsonify(
            error="Not accepted", message="Some fields are not valid.", errors=wrong
        ), 422
    data = services.Submission(
        subject=text["subject"] or "",
        description=text["description"] or "",
        category=text["category"] or "",
        model_number=text["model_number"] or "",
        serial=text["serial"],
        priority=text["priority"] or "normal",
        diagnostic_session=text["diagnostic_session"],
    )
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key is not None and len(key) > KEY_LENGTH:
        return jsonify(
            error="Not accepted",
            message=f"The Idempotency-Key header holds at most {KEY_LENGTH} characters.",
            errors={"Idempotency-Key": f"At most {KEY_LENGTH} characters."},
        ), 422
    session = get_session()
    try:
        ticket, _new = services.open_ticket(session, current_user, data, idempotency_key=key)
    except services.TicketInvalid as exc:
        session.rollback()
        return jsonify(
            error="Not accepted", message="Some fields are not valid.", errors=exc.errors
        ), 422
    except services.KeyReused as exc:
        session.rollback()
        return jsonify(
            error="Conflict",
            message=f"This Idempotency-Key opened {exc.ticket.reference} with other content.",
            errors={"Idempotency-Key": "Already used for another escalation."},
        ), 409
    session.commit()
    # A repeated request answers as the first did: the same ticket, 201.
    return ticket_document(ticket), 201


@bp.route("/escalations/<reference>", methods=["GET"])
@signed_in
def get_escalation(reference: str) -> ResponseReturnValue:
    """The ticket and its public timeline: for its author, their centre's manager and agents
    (404 for anyone else)."""
    ticket = services.visible(get_session(), current_user, reference)
    if ticket is None:
        abort(404)
    return ticket_document(ticket)
