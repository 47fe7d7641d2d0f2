"""Escalation pages: the form (drafts kept on the server and in the browser), the
acknowledgement, the ticket, the queues and held mail.

The web edge: each view parses, calls one service of the core (``services``, ``workflow``,
``attachments``, ``inbound``), and renders. Who may do what is the core's policy.
"""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import validate_csrf
from sqlalchemy.orm import Session
from wtforms import ValidationError
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet

from app.access import form_page, keeps_through_sign_in, roles, signed_in, signed_in_user
from app.auth import parking
from app.auth.models import User
from app.db import get_session, keep_on_error
from app.escalations import attachments, inbound, path, reports, services, workflow
from app.escalations.forms import EscalationForm, ReplyForm
from app.escalations.models import TIERS, EscalationDraft, InboundMail, Ticket, Tier
from app.escalations.settings import EscalationSettings
from app.exceptions import NotAllowed
from app.extensions import current_settings
from app.repairs import offers
from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics.errors import UnknownSession
from parts_catalog.sqltypes import utcnow

bp = Blueprint("escalations", __name__, url_prefix="/escalations")

DRAFT_FIELDS = services.DRAFT_FIELDS


@bp.app_template_filter("working_time")
def working_time(left: timedelta) -> str:
    """``2 h 05 min`` of working time (the sign is the caller's to say)."""
    minutes = int(abs(left.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _settings() -> EscalationSettings:
    return current_settings().escalations


def _form(*, empty: bool = False) -> EscalationForm:
    form = EscalationForm(formdata=None) if empty else EscalationForm()
    form.category.choices = [SelectChoice(c, c.capitalize()) for c in _settings().categories]
    return form


def _page(
    form: EscalationForm, *, status: int = 200, errors: dict[str, str] | None = None
) -> tuple[str, int]:
    for name, message in (errors or {}).items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
    form.key.data = form.key.data or uuid.uuid4().hex
    files = attachments.waiting_for(get_session(), signed_in_user())
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
    user = signed_in_user()
    walk_id = request.args.get("session", "")[:32]
    draft = session.get(EscalationDraft, (user.id, walk_id))
    parked = parking.claim(session, request.args.get("parked", ""), request.path, user.id)
    source = "empty"
    if parked is not None:  # posted after the sign-in expired: everything typed is back
        for name in (*DRAFT_FIELDS, "key", "diagnostic_session"):
            if parked.get(name):
                form[name].data = parked[name]
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
        files=attachments.waiting_for(session, user),
        repair=offers.repair_of_walk(session, user, form.diagnostic_session.data),
    ), 200


def _refused_submit(
    session: Session, form: EscalationForm, *, status: int, errors: dict[str, str] | None = None
) -> tuple[str, int]:
    """The form again with what was typed, which is also kept as the walk's draft: the walk's
    button, a new window or another computer bring it back rather than the prefill. The files
    kept so far stay too (a second try need not send them again), although the answer is an
    error; nothing of the ticket is kept (the service's call runs in a savepoint)."""
    if _csrf_valid():  # a forged post must not plant text in the technician's draft
        typed = {k: request.form.get(k, "") for k in (*DRAFT_FIELDS, "diagnostic_session")}
        services.keep_draft(session, signed_in_user(), typed)
        keep_on_error()
    return _page(form, status=status, errors=errors)


@bp.post("/new")
@signed_in
@form_page
@keeps_through_sign_in
def submit() -> ResponseReturnValue:
    form = _form()
    session = get_session()
    user = signed_in_user()
    settings = _settings()
    # Without JavaScript the files come with the form: each is kept, or refused with a message,
    # before the fields are checked, so that a second try need not send them again. Only with a
    # valid CSRF token: a forged post must not plant files in the technician's escalation.
    for file in request.files.getlist("files") if _csrf_valid() else []:
        if not file.filename:
            continue
        try:
            with session.begin_nested():  # a refused file leaves nothing behind
                attachments.store(
                    session, user, file.stream, file.filename, limit=settings.attachment_max_bytes
                )
        except attachments.Refused as exc:
            return _refused_submit(session, form, status=422, errors={"files": exc.message})
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
    # Savepoints: a refusal keeps the draft and the files (keep_on_error), and nothing else.
    try:
        try:
            with session.begin_nested():
                ticket, new = services.open_ticket(
                    session, user, data, settings=settings, idempotency_key=form.key.data or None
                )
        except services.KeyReused:
            # A page from before the last escalation (the Back button): a new escalation.
            with session.begin_nested():
                ticket, new = services.open_ticket(
                    session, user, data, settings=settings, idempotency_key=uuid.uuid4().hex
                )
    except services.TicketInvalid as exc:
        return _refused_submit(session, form, status=422, errors=exc.errors)
    if new:  # a repeated click changes nothing: the first one took the files and the draft
        attachments.send_with(session, user, ticket)
        services.discard_draft(session, user, data.diagnostic_session)
        # Opened from a walk that is part of a repair: the ticket is part of it too.
        offers.attach_ticket_from_walk(session, ticket, by=user)
    return render_template(
        "escalations/received.html",
        ticket=ticket,
        files=attachments.of_ticket(session, ticket),
        zone=settings.calendar.zone,
    ), 201


@bp.post("/attachments")
@signed_in
def upload() -> ResponseReturnValue:
    """One file, on its own: a refused file never touches what was typed."""
    file = request.files.get("file")
    if file is None or not file.filename:
        return jsonify(error="Choose a file."), 422
    try:
        stored = attachments.store(
            get_session(),
            signed_in_user(),
            file.stream,
            file.filename,
            limit=_settings().attachment_max_bytes,
        )
    except attachments.Refused as exc:
        # The page's script shows ``error`` beside the file (the 422 rolls back).
        return jsonify(error=exc.message), 422
    finally:
        file.close()  # a large upload is spooled to a temporary file
    return jsonify(id=stored.id, name=stored.filename, size=stored.size), 201


@bp.post("/attachments/<int:attachment_id>/remove")
@signed_in
def remove_attachment(attachment_id: int) -> ResponseReturnValue:
    attachments.remove(get_session(), signed_in_user(), attachment_id)
    return jsonify(removed=True)


@bp.get("/<reference>/files/<int:attachment_id>")
@signed_in
def download(reference: str, attachment_id: int) -> ResponseReturnValue:
    session = get_session()
    found = services.ticket_for(session, signed_in_user(), reference)
    attachment = attachments.one_of(session, found, attachment_id)
    return send_file(
        io.BytesIO(attachments.content_of(attachment, _settings().upload_dir)),
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
    services.keep_draft(get_session(), signed_in_user(), {k: str(data.get(k) or "") for k in data})
    return jsonify(saved=True)


def _ticket_page(found: Ticket, form: ReplyForm, *, status: int = 200) -> ResponseReturnValue:
    session = get_session()
    user = signed_in_user()
    cal = _settings().calendar
    agent = user.role in services.AGENTS
    return render_template(
        "escalations/ticket.html",
        ticket=found,
        zone=cal.zone,
        agent=agent,
        engineer=user.role in (Role.ENGINEER, Role.ADMIN),
        works_it=workflow.works(user, found),
        clock=workflow.clock(found, utcnow(), cal),
        tier_names=workflow.TIER_NAMES,
        form=form,
        assignees=workflow.agents_of(session, found.tier) if agent else [],
        assignee=session.get(User, found.assignee_id) if found.assignee_id else None,
        ticket_files=attachments.of_ticket(session, found),
        repair_offer=offers.for_ticket(session, user, found),
        path=path.path_of(session, found),
    ), status


@bp.get("/<reference>")
@signed_in
def ticket(reference: str) -> ResponseReturnValue:
    found = services.ticket_for(get_session(), signed_in_user(), reference)
    return _ticket_page(found, ReplyForm(formdata=None))


@bp.get("/mine")
@signed_in
def mine() -> ResponseReturnValue:
    """The escalations a person sent (a centre manager: the centre's), newest first."""
    return render_template(
        "escalations/mine.html",
        tickets=services.sent_by(get_session(), signed_in_user()),
        tier_names=workflow.TIER_NAMES,
        zone=_settings().calendar.zone,
    )


@bp.get("")
@roles(*services.AGENTS)
def queues() -> ResponseReturnValue:
    """The queue of a tier (the agent's own by default), soonest due first, with filters."""
    user = signed_in_user()
    tier = request.args.get("tier") or workflow.TIER_OF_ROLE.get(user.role, Tier.TIER1)
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
    cal = _settings().calendar
    tickets = workflow.queue(get_session(), wanted, me=user)
    return render_template(
        "escalations/queue.html",
        tickets=tickets,
        clocks={t.id: workflow.clock(t, now, cal) for t in tickets},
        wanted=wanted,
        tiers=TIERS,
        tier_names=workflow.TIER_NAMES,
        zone=cal.zone,
    )


@bp.get("/dashboard")
@roles(*services.AGENTS)
def dashboard() -> ResponseReturnValue:
    now = utcnow()
    cal = _settings().calendar
    figures = reports.dashboard(get_session(), now, cal)
    return render_template(
        "escalations/dashboard.html",
        figures=figures,
        clocks={t.id: workflow.clock(t, now, cal) for t in figures.late},
        tier_names=workflow.TIER_NAMES,
        zone=cal.zone,
    )


@bp.post("/<reference>/assign")
@roles(*services.AGENTS)
def assign(reference: str) -> ResponseReturnValue:
    session = get_session()
    user = signed_in_user()
    found = services.ticket_for(session, user, reference)
    wanted = request.form.get("assignee", "")
    if request.form.get("take") or wanted == "me":
        assignee: User | None = user
    elif wanted.isdigit():
        assignee = session.get(User, int(wanted))
        if assignee is None:
            abort(404)
    else:
        assignee = None
    try:
        workflow.assign(session, found, assignee, by=user, settings=_settings())
    except services.TicketInvalid as exc:  # nothing was changed: the redirect commits nothing
        flash(str(exc.errors["assignee"]), "error")
        return redirect(url_for("escalations.ticket", reference=reference))
    flash(f"Assigned to {assignee.email}." if assignee else "Back in the queue.", "success")
    return redirect(url_for("escalations.ticket", reference=reference))


@bp.post("/<reference>/reply")
@signed_in
@form_page
def reply(reference: str) -> ResponseReturnValue:
    session = get_session()
    user = signed_in_user()
    found = services.ticket_for(session, user, reference)
    form = ReplyForm()
    if not form.validate():
        return _ticket_page(found, form, status=form.status)
    action = request.form.get("action") or "reply"
    if user.role not in services.AGENTS and action == "reply":
        action = "message"  # the form's plain answer, from the technician's side
    if action not in workflow.FORM_ACTIONS:
        abort(400, description="Choose one of the buttons under the message.")
    try:
        workflow.act(session, found, user, action, form.text.data or "", settings=_settings())
    except (NotAllowed, services.TicketInvalid) as exc:  # the error status rolls back
        problems = list(exc.errors.values()) if isinstance(exc.errors, dict) else []
        form.text.errors = [*form.text.errors, *(problems or [exc.message])]
        return _ticket_page(found, form, status=exc.status)
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
    tickets = inbound.tickets_named(session, mails)
    return render_template(
        "escalations/held.html",
        held=[(m, inbound.view(m), tickets.get(m.ticket_id or 0)) for m in mails],
        zone=_settings().calendar.zone,
    )


def _decide_mail(mail_id: int, action: str) -> ResponseReturnValue:
    session = get_session()
    user = signed_in_user()
    stored = session.get(InboundMail, mail_id)
    if stored is None:
        abort(404)
    try:
        if action == "accept_mail":
            inbound.accept(session, stored, user, settings=_settings())
        else:
            inbound.reject(session, stored, user)
    except inbound.NotDecided as exc:  # nothing was changed: the redirect commits nothing
        flash(exc.message, "error")
        return redirect(url_for("escalations.held_mail")), 303
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
