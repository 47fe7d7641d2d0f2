"""Escalation pages: the form (drafts kept on the server and in the browser), the
acknowledgement, and the ticket."""

from __future__ import annotations

import uuid

from flask import abort, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.access import form_page, signed_in
from app.db import get_session
from app.escalations import bp, services
from app.escalations.forms import EscalationForm
from app.escalations.models import EscalationDraft
from diagnostics import services as diagnostics
from diagnostics.errors import UnknownSession
from parts_catalog.sqltypes import utcnow

DRAFT_FIELDS = ("subject", "category", "model_number", "serial", "priority", "description")


def _form(*, empty: bool = False) -> EscalationForm:
    form = EscalationForm(formdata=None) if empty else EscalationForm()
    form.category.choices = [
        SelectChoice(c, c.capitalize()) for c in current_app.config["ESCALATION_CATEGORIES"]
    ]
    return form


def _page(
    form: EscalationForm, *, status: int = 200, errors: dict[str, str] | None = None
) -> tuple[str, int]:
    for name, message in (errors or {}).items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
    form.key.data = form.key.data or uuid.uuid4().hex
    return render_template("escalations/new.html", form=form), status


@bp.get("/new")
@signed_in
def new() -> ResponseReturnValue:
    form = _form(empty=True)
    form.key.data = uuid.uuid4().hex
    session = get_session()
    draft = session.get(EscalationDraft, current_user.id)
    walk_id = request.args.get("session", "")[:32]
    if walk_id:
        try:
            walk = diagnostics.get(session, walk_id)
        except UnknownSession:
            walk = None
        if walk is not None:
            form.diagnostic_session.data = walk.id
            form.model_number.data = walk.model_number
            form.serial.data = walk.serial
            state = diagnostics.state(session, walk)
            lines = [f"{s.text} -> {s.answer}" for s in state.path]
            form.subject.data = f"{walk.revision.title}: {state.node.text}"[:200]
            form.description.data = (
                f"Diagnostic session {walk.id} ({walk.revision.tree_id}"
                f"{', code ' + walk.code if walk.code else ''}):\n" + "\n".join(lines) + "\n\n"
            )
    elif draft is not None:
        for name in DRAFT_FIELDS:
            if draft.data.get(name):
                form[name].data = draft.data[name]
    return render_template(
        "escalations/new.html", form=form, restored=draft is not None and not walk_id
    ), 200


@bp.post("/new")
@signed_in
@form_page
def submit() -> ResponseReturnValue:
    form = _form()
    if not form.validate():
        return _page(form, status=form.status)
    session = get_session()
    data = services.Submission(
        subject=form.subject.data or "",
        description=form.description.data or "",
        category=form.category.data or "",
        model_number=form.model_number.data or "",
        serial=form.serial.data,
        priority=form.priority.data or "normal",
        diagnostic_session=form.diagnostic_session.data or None,
    )
    try:
        ticket, _new = services.open_ticket(
            session, current_user, data, idempotency_key=form.key.data or None
        )
    except services.TicketInvalid as exc:
        session.rollback()
        return _page(form, status=422, errors=exc.errors)
    draft = session.get(EscalationDraft, current_user.id)
    if draft is not None:
        session.delete(draft)
    session.commit()
    return render_template(
        "escalations/received.html", ticket=ticket, zone=services.calendar().zone
    ), 201


@bp.post("/draft")
@signed_in
def save_draft() -> ResponseReturnValue:
    """Keep what is typed on the server every few seconds (the page also keeps it locally)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(saved=False), 400
    kept = {k: str(data.get(k, ""))[:20_000] for k in DRAFT_FIELDS}
    session = get_session()
    draft = session.get(EscalationDraft, current_user.id)
    if draft is None:
        session.add(EscalationDraft(user_id=current_user.id, data=kept, saved_at=utcnow()))
    else:
        draft.data, draft.saved_at = kept, utcnow()
    session.commit()
    return jsonify(saved=True)


@bp.get("/<reference>")
@signed_in
def ticket(reference: str) -> ResponseReturnValue:
    found = services.visible(get_session(), current_user, reference)
    if found is None:
        abort(404)
    agent = current_user.role in services.AGENTS
    return render_template(
        "escalations/ticket.html", ticket=found, zone=services.calendar().zone, agent=agent
    )
