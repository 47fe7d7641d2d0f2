"""Notice pages: the list (what waits for my acknowledgement first), writing and editing a
notice, its review by a second person, publishing, a preview as a technician of a chosen
centre, a notice with its parts and who acknowledged it, and the acknowledgement itself."""

from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.access import form_page, roles, signed_in, signed_in_user
from app.auth.models import ServiceCentre
from app.db import after_commit, get_session
from app.exceptions import AppError, Conflict, NotFound
from app.extensions import current_settings
from app.notices import attachments, policy, preview, services
from app.notices.forms import NoticeForm, filled_from
from app.notices.models import Notice, NoticeStatus, TargetKind
from app.roles import Role
from app.search import indexing
from diagnostics.models import PUBLISHED, TreeRevision

bp = Blueprint("notices", __name__)

WRITERS = tuple(policy.WRITERS)


def _safe_next(value: str) -> str:
    # Only a path of this portal: never an address elsewhere.
    return value if value.startswith("/") and not value.startswith("//") else ""


@bp.get("/notices")
@signed_in
def index() -> ResponseReturnValue:
    session = get_session()
    user = signed_in_user()
    waiting = services.unacknowledged(session, user)
    published = services.published(session)
    writer = policy.may_write(services.person_of(user))
    drafts = services.drafts(session) if writer else []
    return render_template(
        "notices/index.html", waiting=waiting, published=published, drafts=drafts, writer=writer
    )


def _tree_ids() -> list[str]:
    """Published trees, offered as a list beside the trees field."""
    return list(
        get_session().scalars(
            select(TreeRevision.tree_id)
            .where(TreeRevision.status == PUBLISHED)
            .distinct()
            .order_by(TreeRevision.tree_id)
        )
    )


def _form_page(form: NoticeForm, *, notice: Notice | None, status: int) -> tuple[str, int]:
    centres = get_session().scalars(select(ServiceCentre.name).order_by(ServiceCentre.name))
    return render_template(
        "notices/edit.html",
        form=form,
        notice=notice,
        trees=_tree_ids(),
        centres=list(centres),
        roles=[r.value for r in Role],
    ), status


def _judge(form: NoticeForm) -> bool:
    """The form's shape and the service's judgement together, so that a wrong date does not
    hide a missing part: every problem at once."""
    shaped = form.validate()
    if form.csrf_token.errors:
        return False
    _targets, errors = services.check(get_session(), form.asked())
    errors.update(form.carried_problems())
    if form.effective_on.errors:
        errors.pop("effective_on", None)  # "not a date" says more than "missing"
    form.apply(errors)
    return shaped and not errors


@bp.route("/notices/new", methods=["GET", "POST"])
@roles(*WRITERS)
@form_page
def new() -> ResponseReturnValue:
    """Write a draft: each required part its own field; refused with every missing part named
    and everything typed kept."""
    if request.method == "GET":
        return _form_page(NoticeForm(formdata=None), notice=None, status=200)
    form = NoticeForm()
    if not _judge(form):
        return _form_page(form, notice=None, status=422)
    session = get_session()
    try:
        with session.begin_nested():
            notice = services.create(session, by=signed_in_user(), asked=form.asked())
    except AppError as exc:
        form.apply(exc.errors)
        return _form_page(form, notice=None, status=exc.status)
    flash(
        f"{notice.reference} is drafted: a second engineer or an admin reviews it before it "
        "can be published.",
        "success",
    )
    return redirect(url_for("notices.notice", notice_id=notice.id))


@bp.route("/notices/<int:notice_id>/edit", methods=["GET", "POST"])
@roles(*WRITERS)
@form_page
def edit(notice_id: int) -> ResponseReturnValue:
    """Change a draft (a reviewed notice goes back to draft, to be reviewed again)."""
    session = get_session()
    found = services.get(session, notice_id)
    if request.method == "GET":
        if found.status not in (NoticeStatus.DRAFT, NoticeStatus.REVIEWED):
            flash(f"{found.reference} is {found.status.value}: it cannot be changed.", "info")
            return redirect(url_for("notices.notice", notice_id=notice_id))
        return _form_page(
            NoticeForm(formdata=None, data=filled_from(found)), notice=found, status=200
        )
    form = NoticeForm()
    if not _judge(form):
        return _form_page(form, notice=found, status=422)
    typed = form.version.data or ""
    seen = int(typed) if typed.isdigit() else 0
    try:
        with session.begin_nested():
            services.edit(session, found, by=signed_in_user(), asked=form.asked(), seen=seen)
    except AppError as exc:
        session.refresh(found)
        form.apply(exc.errors if exc.errors else [exc.message])
        return _form_page(form, notice=found, status=exc.status)
    flash(f"{found.reference} is saved as a draft: it needs a review again.", "success")
    return redirect(url_for("notices.notice", notice_id=notice_id))


def _notice_page(
    found: Notice, *, problem: str | None = None, status: int = 200
) -> tuple[str, int]:
    session = get_session()
    user = signed_in_user()
    person = services.person_of(user)
    readers = (
        services.tracking(session, found, viewer=user)
        if found.status == NoticeStatus.PUBLISHED and policy.sees_tracking(person)
        else None
    )
    return render_template(
        "notices/notice.html",
        notice=found,
        acknowledged=services.acknowledged_at(session, found, user),
        readers=readers,
        back=_safe_next(request.args.get("next", "")),
        writer=policy.may_write(person),
        may_review=policy.may_review(person, author_id=found.author_id),
        problem=problem,
        files=attachments.listed(session, found),
        file_kinds=", ".join(attachments.KINDS.values()),
    ), status


def _readable(notice_id: int) -> Notice:
    """A published notice, or any for its writers (a draft is nobody else's business)."""
    found = services.get(get_session(), notice_id)
    if found.status != NoticeStatus.PUBLISHED and not policy.may_write(
        services.person_of(signed_in_user())
    ):
        raise NotFound(f"No notice {notice_id}.")
    return found


@bp.get("/notices/<int:notice_id>")
@signed_in
def notice(notice_id: int) -> ResponseReturnValue:
    return _notice_page(_readable(notice_id))


@bp.post("/notices/<int:notice_id>/review")
@roles(*WRITERS)
def review(notice_id: int) -> ResponseReturnValue:
    """A second engineer or an admin has read it as it stands (never its author)."""
    session = get_session()
    found = services.get(session, notice_id)
    try:
        with session.begin_nested():
            services.review(session, found, by=signed_in_user())
    except Conflict as exc:
        session.refresh(found)
        return _notice_page(found, problem=exc.message, status=exc.status)
    flash(f"{found.reference} is reviewed: its author may publish it.", "success")
    return redirect(url_for("notices.notice", notice_id=notice_id))


@bp.post("/notices/<int:notice_id>/publish")
@roles(*WRITERS)
def publish(notice_id: int) -> ResponseReturnValue:
    """Publish a reviewed notice (409 until reviewed): each person it targets gets it by mail,
    on their home page, and beside what it is about."""
    session = get_session()
    found = services.get(session, notice_id)
    try:
        with session.begin_nested():
            sent = services.publish(
                session, found, by=signed_in_user(), mailer=current_settings().mail
            )
    except AppError as exc:  # not reviewed; or the change it carries cannot be applied
        session.refresh(found)
        details = [] if isinstance(exc.errors, list) else list(exc.errors.values())
        return _notice_page(found, problem=" ".join([exc.message, *details]), status=exc.status)
    flash(
        f"{found.reference} is published: sent to {sent} {'person' if sent == 1 else 'people'}.",
        "success",
    )
    if found.carried_release or found.carries_tree_id:
        after_commit(indexing.follow_catalogue_and_trees)
    return redirect(url_for("notices.notice", notice_id=notice_id))


@bp.get("/notices/<int:notice_id>/preview")
@roles(*WRITERS)
def preview_as(notice_id: int) -> ResponseReturnValue:
    """The notice as a technician of a chosen centre would meet it: whether it reaches them,
    on their home page, and beside a part it is about."""
    session = get_session()
    found = services.get(session, notice_id)
    centres = list(session.scalars(select(ServiceCentre).order_by(ServiceCentre.name)))
    chosen_id = request.args.get("centre", "")
    centre = next((c for c in centres if str(c.id) == chosen_id), None)
    if centre is None and centres:
        centre = centres[0]
    parts = [t.value for t in found.targets if t.kind == TargetKind.PART]
    return render_template(
        "notices/preview.html",
        notice=found,
        centres=centres,
        centre=centre,
        reaches=preview.reaches(
            found, role=Role.TECHNICIAN, centre_name=centre.name if centre else None
        ),
        part=parts[0] if parts else None,
    )


@bp.post("/notices/<int:notice_id>/files")
@roles(*WRITERS)
def attach(notice_id: int) -> ResponseReturnValue:
    """Attach a PDF or a picture to a draft (a reviewed notice goes back to draft)."""
    session = get_session()
    found = services.get(session, notice_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _notice_page(found, problem="Choose a PDF or a picture to attach.", status=422)
    limit = current_settings().escalations.attachment_max_bytes
    try:
        with session.begin_nested():
            kept = attachments.attach(
                session,
                found,
                by=signed_in_user(),
                filename=upload.filename,
                data=upload.stream.read(limit + 1),  # one byte more than allowed says "too big"
                limit=limit,
            )
    except AppError as exc:
        session.refresh(found)
        return _notice_page(found, problem=exc.message, status=exc.status)
    flash(f"“{kept.filename}” is attached to {found.reference}.", "success")
    return redirect(url_for("notices.notice", notice_id=notice_id))


@bp.post("/notices/<int:notice_id>/files/<int:file_id>/remove")
@roles(*WRITERS)
def remove_file(notice_id: int, file_id: int) -> ResponseReturnValue:
    session = get_session()
    found = services.get(session, notice_id)
    try:
        with session.begin_nested():
            name = attachments.remove(session, found, file_id, by=signed_in_user())
    except Conflict as exc:
        session.refresh(found)
        return _notice_page(found, problem=exc.message, status=exc.status)
    flash(f"“{name}” is no longer attached to {found.reference}.", "success")
    return redirect(url_for("notices.notice", notice_id=notice_id))


@bp.get("/notices/<int:notice_id>/files/<int:file_id>")
@signed_in
def download(notice_id: int, file_id: int) -> ResponseReturnValue:
    session = get_session()
    found = _readable(notice_id)
    attachment = attachments.one_of(session, found, file_id)
    return send_file(
        io.BytesIO(attachment.content),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
    )


@bp.post("/notices/<int:notice_id>/acknowledge")
@signed_in
def acknowledge(notice_id: int) -> ResponseReturnValue:
    session = get_session()
    found = services.get(session, notice_id)
    services.acknowledge(session, found, by=signed_in_user())
    flash(f"{found.reference} acknowledged.", "success")
    back = _safe_next(request.form.get("next", ""))
    return redirect(back or url_for("notices.notice", notice_id=notice_id))
