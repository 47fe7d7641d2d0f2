"""Escalation pages: the form (drafts kept on the server and in the browser), the
acknowledgement, and the ticket."""

from __future__ import annotations

import io
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
from flask_wtf.csrf import validate_csrf
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import ValidationError
from wtforms.fields.choices import SelectChoice

from app.access import form_page, keeps_through_sign_in, roles, signed_in
from app.auth import parking
from app.auth.models import User
from app.db import get_session
from app.escalations import attachments, bp, inbound, policy, reports, services, workflow
from app.escalations.forms import EscalationForm, ReplyForm
from app.escalations.models import TIERS, Attachment, EscalationDraft, InboundMail, Ticket
from app.roles import Role
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


def _csrf_valid() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


@bp.get("/new")
@signed_in
def new() -> ResponseReturnValue:
    form = _form(empty=True)
    form.key.data = uuid.uuid4().hex
    session = get_session()
    walk_id = request.args.get("session", "")[:32]
    draft = session.get(EscalationDraft, (current_user.id, walk_id))
    parked = parking.claim(session, request.args.get("parked", ""), request.path, current_user.id)
    source = "empty"
    if parked is not None:  # posted after the sign-in expired: everything typed is back
        for name in (*DRAFT_FIELDS, "key", "diagnostic_session"):
            if parked.get(name):
                form[name].data = parked[name]
        session.commit()
        flash("Here is what you sent before signing in again. Check it and send it.", "info")
        source = "posted"
    elif draft is not None:
        # A reload, a crash, a failed submit, the walk's button again: what was typed for this
        # walk wins over its prefill (an emptied field stays empty).
        for name in DRAFT_FIELDS:
            form[name].data = draft.data.get(name, "")
        form.diagnostic_session.data = walk_id
        source = "draft"
    elif walk_id:
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
            source = "prefill"
    return render_template(
        "escalations/new.html",
        form=form,
        restored=source == "draft",
        source=source,
        saved_at=int(draft.saved_at.timestamp() * 1000) if source == "draft" and draft else 0,
        files=attachments.waiting_for(session, current_user),
    ), 200


def _keep_draft(session: Session, fields: dict[str, str]) -> EscalationDraft:
    """Keep what was typed for the walk it came from (``""``: none), replacing its last draft."""
    walk = (fields.get("diagnostic_session") or "")[:32]
    kept = {k: str(fields.get(k) or "")[:20_000] for k in DRAFT_FIELDS}
    draft = session.get(EscalationDraft, (current_user.id, walk))
    if draft is None:
        draft = EscalationDraft(
            user_id=current_user.id, diagnostic_session=walk, data=kept, saved_at=utcnow()
        )
        session.add(draft)
    else:
        draft.data, draft.saved_at = kept, utcnow()
    return draft


def _refused_submit(
    session: Session, form: EscalationForm, *, status: int, errors: dict[str, str] | None = None
) -> tuple[str, int]:
    """The form again with what was typed, which is also kept as the walk's draft: the walk's
    button, a new window or another computer bring it back rather than the prefill."""
    session.rollback()
    if _csrf_valid():  # a forged post must not plant text in the technician's draft
        typed = {k: request.form.get(k, "") for k in (*DRAFT_FIELDS, "diagnostic_session")}
        _keep_draft(session, typed)
        session.commit()
    return _page(form, status=status, errors=errors)


@bp.post("/new")
@signed_in
@form_page
@keeps_through_sign_in
def submit() -> ResponseReturnValue:
    form = _form()
    session = get_session()
    # Without JavaScript the files come with the form: each is kept, or refused with a message,
    # before the fields are checked, so that a second try need not send them again. Only with a
    # valid CSRF token: a forged post must not plant files in the technician's escalation.
    for file in request.files.getlist("files") if _csrf_valid() else []:
        if not file.filename:
            continue
        try:
            attachments.store(session, current_user, file.stream, file.filename)
            session.commit()
        except attachments.Refused as exc:
            return _refused_submit(session, form, status=422, errors={"files": str(exc)})
        finally:
            file.close()
    if not form.validate():
        return _refused_submit(session, form, status=form.status)
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
        try:
            ticket, new = services.open_ticket(
                session, current_user, data, idempotency_key=form.key.data or None
            )
        except services.KeyReused:
            # A page from before the last escalation (the Back button): a new escalation.
            ticket, new = services.open_ticket(
                session, current_user, data, idempotency_key=uuid.uuid4().hex
            )
    except services.TicketInvalid as exc:
        return _refused_submit(session, form, status=422, errors=exc.errors)
    if new:  # a repeated click changes nothing: the first one took the files and the draft
        attachments.send_with(session, current_user, ticket)
        draft = session.get(EscalationDraft, (current_user.id, data.diagnostic_session or ""))
        if draft is not None:
            session.delete(draft)
    session.commit()
    files = session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()
    return render_template(
        "escalations/received.html", ticket=ticket, files=files, zone=services.calendar().zone
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
        io.BytesIO(attachments.content_of(attachment)),
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
    session = get_session()
    _keep_draft(session, {k: str(data.get(k) or "") for k in data})
    session.commit()
    return jsonify(saved=True)


def _ticket_page(found: Ticket, form: ReplyForm, *, status: int = 200) -> ResponseReturnValue:
    session = get_session()
    agent = current_user.role in services.AGENTS
    return render_template(
        "escalations/ticket.html",
        ticket=found,
        zone=services.calendar().zone,
        agent=agent,
        engineer=current_user.role in (Role.ENGINEER, Role.ADMIN),
        works_it=workflow.works(current_user, found),
        clock=workflow.clock(found, utcnow()),
        tier_names=workflow.TIER_NAMES,
        form=form,
        assignees=workflow.agents_of(session, found.tier) if agent else [],
        assignee=session.get(User, found.assignee_id) if found.assignee_id else None,
        ticket_files=session.scalars(
            select(Attachment).where(Attachment.ticket_id == found.id).order_by(Attachment.id)
        ).all(),
    ), status


@bp.get("/<reference>")
@signed_in
def ticket(reference: str) -> ResponseReturnValue:
    found = services.visible(get_session(), current_user, reference)
    if found is None:
        abort(404)
    return _ticket_page(found, ReplyForm(formdata=None))


@bp.get("/mine")
@signed_in
def mine() -> ResponseReturnValue:
    """The escalations a person sent (a centre manager: the centre's), newest first."""
    return render_template(
        "escalations/mine.html",
        tickets=services.sent_by(get_session(), current_user),
        tier_names=workflow.TIER_NAMES,
        zone=services.calendar().zone,
    )


@bp.get("")
@roles(*services.AGENTS)
def queues() -> ResponseReturnValue:
    """The queue of a tier (the agent's own by default), soonest due first, with filters."""
    tier = request.args.get("tier") or workflow.TIER_OF_ROLE.get(current_user.role, "tier1")
    if tier not in TIERS:
        abort(404)
    assigned = request.args.get("assigned")
    wanted = workflow.QueueFilter(
        tier=tier,
        product_line=request.args.get("product_line") or None,
        assigned=assigned if assigned in ("mine", "unassigned") else None,
        late=request.args.get("late") == "1",
    )
    now = utcnow()
    tickets = workflow.queue(get_session(), wanted, me=current_user)
    return render_template(
        "escalations/queue.html",
        tickets=tickets,
        clocks={t.id: workflow.clock(t, now) for t in tickets},
        wanted=wanted,
        tiers=TIERS,
        tier_names=workflow.TIER_NAMES,
        zone=services.calendar().zone,
    )


@bp.get("/dashboard")
@roles(*services.AGENTS)
def dashboard() -> ResponseReturnValue:
    now = utcnow()
    figures = reports.dashboard(get_session(), now)
    return render_template(
        "escalations/dashboard.html",
        figures=figures,
        clocks={t.id: workflow.clock(t, now) for t in figures.late},
        tier_names=workflow.TIER_NAMES,
        zone=services.calendar().zone,
    )


@bp.post("/<reference>/assign")
@roles(*services.AGENTS)
def assign(reference: str) -> ResponseReturnValue:
    session = get_session()
    found = services.visible(session, current_user, reference)
    if found is None:
        abort(404)
    decision = policy.may(services.person_of(current_user), "assign", services.facts_of(found))
    if not decision:
        abort(403, description=decision.reason)
    wanted = request.form.get("assignee", "")
    if request.form.get("take") or wanted == "me":
        assignee: User | None = current_user._get_current_object()
    elif wanted.isdigit():
        assignee = session.get(User, int(wanted))
        if assignee is None:
            abort(404)
    else:
        assignee = None
    try:
        workflow.assign(session, found, assignee, by=current_user)
    except services.TicketInvalid as exc:
        session.rollback()
        flash(str(exc.errors["assignee"]), "error")
        return redirect(url_for("escalations.ticket", reference=reference))
    session.commit()
    flash(f"Assigned to {assignee.email}." if assignee else "Back in the queue.", "success")
    return redirect(url_for("escalations.ticket", reference=reference))


AGENT_ACTIONS = ("reply", "waiting", "note", "escalate", "consult", "consult_answer", "resolve")
FORM_ACTIONS = ("message", "not_solved", *AGENT_ACTIONS)


@bp.post("/<reference>/reply")
@signed_in
@form_page
def reply(reference: str) -> ResponseReturnValue:
    session = get_session()
    found = services.visible(session, current_user, reference)
    if found is None:
        abort(404)
    form = ReplyForm()
    if not form.validate():
        return _ticket_page(found, form, status=form.status)
    text = form.text.data or ""
    agent = current_user.role in services.AGENTS
    action = request.form.get("action") or "reply"
    if not agent and action == "reply":
        action = "message"  # the form's plain answer, from the technician's side
    if action not in FORM_ACTIONS:
        abort(400, description="Choose one of the buttons under the message.")
    decision = policy.may(services.person_of(current_user), action, services.facts_of(found))
    if not decision:
        form.text.errors = [*form.text.errors, decision.reason]
        return _ticket_page(found, form, status=403)
    try:
        if action in ("reply", "note", "waiting"):
            workflow.respond(
                session,
                found,
                current_user,
                text,
                internal=action == "note",
                waiting=action == "waiting",
            )
        elif action == "escalate":
            workflow.escalate(session, found, by=current_user.email, reason=text)
        elif action == "consult":
            workflow.consult(session, found, current_user, text)
        elif action == "consult_answer":
            workflow.answer_consult(session, found, current_user, text)
        elif action == "resolve":
            workflow.resolve(session, found, current_user, text)
        elif action == "not_solved":
            workflow.not_solved(session, found, current_user, text)
        else:  # the technician answers
            workflow.technician_message(session, found, current_user, text)
    except services.TicketInvalid as exc:
        session.rollback()
        form.text.errors = [*form.text.errors, *exc.errors.values()]
        return _ticket_page(found, form, status=422)
    session.commit()
    done = {
        "note": "Note added (agents only).",
        "consult": "Engineering has your question; the ticket stays with you.",
        "consult_answer": "Answer sent to tier 2.",
        "escalate": "Escalated.",
        "resolve": "Resolved, and your answer sent.",
        "not_solved": "Sent, and the ticket goes to the next level of support.",
    }
    flash(done.get(action, "Sent."), "success")
    return redirect(url_for("escalations.ticket", reference=reference))


@bp.get("/held")
@roles(*services.AGENTS)
def held_mail() -> ResponseReturnValue:
    """Mail that names a ticket but is not proven to be its sender's: an agent decides."""
    session = get_session()
    mails = inbound.held(session)
    wanted = [m.ticket_id for m in mails if m.ticket_id is not None]
    tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(wanted)))}
    return render_template(
        "escalations/held.html",
        held=[(m, inbound.view(m), tickets.get(m.ticket_id or 0)) for m in mails],
        zone=services.calendar().zone,
    )


def _decide_mail(mail_id: int, action: str) -> ResponseReturnValue:
    session = get_session()
    decision = policy.may_handle_mail(services.person_of(current_user), action)
    if not decision:
        abort(403, description=decision.reason)
    stored = session.get(InboundMail, mail_id)
    if stored is None:
        abort(404)
    try:
        if action == "accept_mail":
            inbound.accept(session, stored, current_user)
        else:
            inbound.reject(session, stored, current_user)
    except inbound.NotDecided as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("escalations.held_mail")), 303
    session.commit()
    flash(
        f"Accepted into {stored_reference(stored)} as {stored.sender}'s."
        if action == "accept_mail"
        else f"Rejected: the mail from {stored.sender} stays out of the ticket.",
        "success",
    )
    return redirect(url_for("escalations.held_mail")), 303


def stored_reference(stored: InboundMail) -> str:
    ticket = get_session().get(Ticket, stored.ticket_id) if stored.ticket_id else None
    return ticket.reference or "" if ticket else "the ticket"


@bp.post("/held/<int:mail_id>/accept")
@roles(*services.AGENTS)
def accept_mail(mail_id: int) -> ResponseReturnValue:
    return _decide_mail(mail_id, "accept_mail")


@bp.post("/held/<int:mail_id>/reject")
@roles(*services.AGENTS)
def reject_mail(mail_id: int) -> ResponseReturnValue:
    return _decide_mail(mail_id, "reject_mail")
