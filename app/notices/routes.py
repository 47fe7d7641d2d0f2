"""Notice pages: the list (what waits for my acknowledgement first), a notice with its parts
and who acknowledged it, and the acknowledgement itself."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.access import signed_in, signed_in_user
from app.db import get_session
from app.exceptions import NotFound
from app.notices import policy, services
from app.notices.models import NoticeStatus

bp = Blueprint("notices", __name__)


@bp.get("/notices")
@signed_in
def index() -> ResponseReturnValue:
    session = get_session()
    user = signed_in_user()
    waiting = services.unacknowledged(session, user)
    published = services.published(session)
    drafts = services.drafts(session) if policy.may_write(services.person_of(user)) else []
    return render_template(
        "notices/index.html", waiting=waiting, published=published, drafts=drafts
    )


@bp.get("/notices/<int:notice_id>")
@signed_in
def notice(notice_id: int) -> ResponseReturnValue:
    session = get_session()
    user = signed_in_user()
    found = services.get(session, notice_id)
    person = services.person_of(user)
    if found.status != NoticeStatus.PUBLISHED and not policy.may_write(person):
        raise NotFound(f"No notice {notice_id}.")
    acknowledged = services.acknowledged_at(session, found, user)
    readers = (
        services.tracking(session, found, viewer=user)
        if found.status == NoticeStatus.PUBLISHED and policy.sees_tracking(person)
        else None
    )
    return render_template(
        "notices/notice.html",
        notice=found,
        acknowledged=acknowledged,
        readers=readers,
        back=request.args.get("next", ""),
    )


@bp.post("/notices/<int:notice_id>/acknowledge")
@signed_in
def acknowledge(notice_id: int) -> ResponseReturnValue:
    session = get_session()
    found = services.get(session, notice_id)
    services.acknowledge(session, found, by=signed_in_user())
    flash(f"{found.reference} acknowledged.", "success")
    back = request.form.get("next", "")
    # Only a path of this portal: never an address elsewhere.
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect(url_for("notices.notice", notice_id=notice_id))
