"""Escalation pages: the form (drafts kept on the server and in the browser), the
acknowledgement, and the ticket."""

from __future__ import annotations

import uuid

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.access import form_page, roles, signed_in
from app.db import get_session
from app.escalations import attachments, bp, services
from app.escalations.forms import EscalationForm, ReplyForm
from app.escalations.models import OPEN, TIERS, Attachment, EscalationDraft, TicketEvent
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
    files = attachments.waiting_for(get_session(), current_user)
    return render_template(
        "escalations/new.html", form=form, files=files, file_error=(errors or {}).get("files")
    ), status


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
        "escalations/new.html",
        form=form,
        restored=draft is not None and not walk_id,
        files=attachments.waiting_for(session, current_user),
    ), 200


@bp.post("/new")
@signed_in
@form_page
def submit() -> ResponseReturnValue:
    form = _form()
    session = get_session()
    # Without JavaScript the files come with the form: each is kept, or refused with a message,
    # before anything else is checked, so that a second try need not send them again.
    for file in request.files.getlist("files"):
        if not file.filename:
            continue
        try:
            attachments.store(session, current_user, file.stream, file.filename)
            session.commit()
        except attachments.Refused as exc:
            session.rollback()
            return _page(form, status=422, errors={"files": str(exc)})
        finally:
            file.close()
    if not form.validate():
        return _page(form, status=form.status)
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
    for attachment in attachments.waiting_for(session, current_user):
        attachment.ticket_id = ticket.id
    draft = session.get(EscalationDraft, current_user.id)
    if draft is not None:
        session.delete(draft)
    session.commit()
    return render_template(
        "escalations/received.html", ticket=ticket, zone=services.calendar().zone
    ), 201


@bp.post("/attachments")
@signed_in
def upload() -> ResponseReturnValue:
    """One file, on its own: a refused file never touches what was typed."""
    file = request.files.get("file")
    if file is None or not file.filename:
        return jsonify(error="Choose a file."), 422
    session = get_session()
    try:
        stored = attachments.store(session, current_user, file.stream, file.filename)
    except attachments.Refused as exc:
        session.rollback()
        return jsonify(error=str(exc)), 422
    finally:
        file.close()  # a large upload is spooled to a temporary file
    session.commit()
    return jsonify(id=stored.id, name=stored.filename, size=stored.size), 201


@bp.post("/attachments/<int:attachment_id>/remove")
@signed_in
def remove_attachment(attachment_id: int) -> ResponseReturnValue:
    session = get_session()
    found = session.get(Attachment, attachment_id)
    if found is None or found.user_id != current_user.id or found.ticket_id is not None:
        abort(404)
    attachments.path_of(found).unlink(missing_ok=True)
    session.delete(found)
    session.commit()
    return jsonify(removed=True)


@bp.get("/<reference>/files/<int:attachment_id>")
@signed_in
def download(reference: str, attachment_id: int) -> ResponseReturnValue:
    found = services.visible(get_session(), current_user, reference)
    attachment = get_session().get(Attachment, attachment_id)
    if found is None or attachment is None or attachment.ticket_id != found.id:
        abort(404)
    return send_file(
        attachments.path_of(attachment),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
    )


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
        "escalations/ticket.html",
        ticket=found,
        zone=services.calendar().zone,
        agent=agent,
        form=ReplyForm(formdata=None),
        ticket_files=get_session()
        .scalars(select(Attachment).where(Attachment.ticket_id == found.id))
        .all(),
    )


@bp.get("")
@roles(*services.AGENTS)
def queues() -> ResponseReturnValue:
    """The queue of a tier (the agent's own by default), soonest due first."""
    tier = request.args.get("tier") or services.TIER_OF_ROLE.get(current_user.role, "tier1")
    if tier not in TIERS:
        abort(404)
    line = request.args.get("product_line") or None
    tickets = services.queue(get_session(), tier, line)
    return render_template(
        "escalations/queue.html",
        tickets=tickets,
        tier=tier,
        tiers=TIERS,
        product_line=line,
        now=utcnow(),
        zone=services.calendar().zone,
    )


@bp.post("/<reference>/reply")
@signed_in
@form_page
def reply(reference: str) -> ResponseReturnValue:
    session = get_session()
    found = services.visible(session, current_user, reference)
    if found is None:
        abort(404)
    form = ReplyForm()
    agent = current_user.role in services.AGENTS
    if not form.validate():
        flash("Write something to send.", "error")
        return redirect(url_for("escalations.ticket", reference=reference))
    text = form.text.data or ""
    action = form.action.data
    if agent and action in ("reply", "note", "waiting"):
        services.respond(
            session,
            found,
            current_user,
            text,
            internal=action == "note",
            waiting=action == "waiting",
        )
    elif agent and action == "escalate":
        try:
            services.escalate(session, found, by=current_user.email, reason=text)
        except services.TicketInvalid as exc:
            flash(str(exc), "error")
            return redirect(url_for("escalations.ticket", reference=reference))
    elif agent and action == "resolve":
        services.resolve(session, found, by=current_user.email)
    else:  # the technician answers, or says the answer did not solve it
        found.events.append(
            TicketEvent(
                kind="message",
                public=True,
                author=current_user.email,
                body=text.strip(),
                created_at=utcnow(),
            )
        )
        services.resume(found, utcnow())
        found.status = OPEN
    session.commit()
    flash("Sent." if action != "note" else "Note added (agents only).", "success")
    return redirect(url_for("escalations.ticket", reference=reference))
