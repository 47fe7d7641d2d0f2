"""Diagnose pages. Views are thin: read the form, ask ``diagnostics``, commit, redirect."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from app.access import form_page, roles, signed_in, signed_in_user
from app.db import get_session
from app.diagnose import bp
from app.diagnose.documents import labour_rate, may_change, require_change
from app.diagnose.forms import AnswerForm, ButtonForm, CodeForm, FeedbackForm, StartForm
from app.exceptions import AppError
from app.notices import services as notices
from app.repairs import offers
from app.repairs import policy as repair_policy
from app.repairs import services as repairs
from app.repairs.models import LinkKind
from app.search.indexing import trees_index
from app.warranty.entitlement import entitlement
from diagnostics import services
from diagnostics.errors import ImplausibleValue, InvalidAnswer, NoTreeFound, UnknownTree
from diagnostics.models import PUBLISHED, DiagnosticSession, TreeRevision
from diagnostics.search import search_trees
from parts_catalog.indexes import IndexUnavailable
from parts_catalog.services import latest_release


def _entry_page(
    code_form: CodeForm, *, status: int = 200, problem: str | None = None
) -> tuple[str, int]:
    session = get_session()
    model = request.args.get("model", "").strip()[:40]
    query = request.args.get("q", "").strip()[:200]
    for_model = services.trees_for_model(session, model) if model else None
    matches = _symptom_search(query, model) if query else None
    recent = session.scalars(
        select(DiagnosticSession)
        .where(DiagnosticSession.started_by == current_user.email)
        .order_by(DiagnosticSession.updated_at.desc())
        .limit(8)
    ).all()
    facts = services.model_facts(session, model) if model else None
    return render_template(
        "diagnose/index.html",
        code_form=code_form,
        start_form=StartForm(),
        problem=problem,
        model=model,
        facts=facts,
        query=query,
        for_model=for_model,
        matches=matches,
        recent=recent,
    ), status


def _symptom_search(query: str, model: str) -> list[TreeRevision]:
    """Trees for a described symptom, through the search index (typos forgiven); by plain
    word matching while the index cannot be read. A model keeps only its trees."""
    session = get_session()
    try:
        hits = search_trees(trees_index().searcher(), query, limit=20)
    except IndexUnavailable:
        return services.search_symptoms(session, query, model or None)
    revisions = []
    for hit in hits:
        try:
            revision = services.get_revision(session, hit.key)
        except UnknownTree:
            continue
        if revision.status == PUBLISHED:
            revisions.append(revision)
    if model:
        applying = {r.tree_id for r in services.trees_for_model(session, model)}
        revisions = [r for r in revisions if r.tree_id in applying]
    return revisions


@bp.get("")
@signed_in
def index() -> ResponseReturnValue:
    form = CodeForm(formdata=None)
    if request.args.get("model"):
        form.model.data = request.args["model"]
    return _entry_page(form)


@bp.post("/code")
@signed_in
@form_page
def by_code() -> ResponseReturnValue:
    form = CodeForm()
    if not form.validate():
        return _entry_page(form, status=form.status)
    session = get_session()
    code = f"{form.scheme.data}:{(form.value.data or '').strip()}"
    try:
        revision = services.find_by_code(session, code, form.model.data or "")
    except NoTreeFound as exc:
        return _entry_page(form, status=422, problem=str(exc))
    walk = services.start(
        session,
        revision,
        by=current_user.email,
        centre_id=current_user.centre_id,
        model_number=form.model.data,
        serial=form.serial.data,
        code=code,
    )
    return redirect(url_for("diagnose.walk", session_id=walk.id))


@bp.post("/start")
@signed_in
@form_page
def start() -> ResponseReturnValue:
    form = StartForm()
    if not form.validate():
        flash("That tree could not be started; please choose it again.", "error")
        return redirect(url_for("diagnose.index"))
    session = get_session()
    try:
        revision = services.get_revision(session, form.tree.data or "")
    except UnknownTree as exc:
        flash(str(exc), "error")
        return redirect(url_for("diagnose.index"))
    if revision.status != PUBLISHED:
        flash("That tree is not published.", "error")
        return redirect(url_for("diagnose.index"))
    walk = services.start(
        session,
        revision,
        by=current_user.email,
        centre_id=current_user.centre_id,
        model_number=form.model.data,
        serial=form.serial.data,
    )
    return redirect(url_for("diagnose.walk", session_id=walk.id))


@bp.get("/trees/<tree_id>")
@signed_in
def tree(tree_id: str) -> ResponseReturnValue:
    """A published tree: what it is for, and a start with the model and serial."""
    revision = services.get_revision(get_session(), tree_id)
    if revision.status != PUBLISHED:
        raise UnknownTree(tree_id)
    return render_template(
        "diagnose/tree.html",
        tree_notices=notices.about_tree(get_session(), tree_id),
        revision=revision,
        tree=services.tree_of(revision),
        start_form=StartForm(formdata=None),
    )


def _walk_page(
    session_id: str,
    form: AnswerForm | None = None,
    *,
    status: int = 200,
    problem: str | None = None,
    implausible: ImplausibleValue | None = None,
) -> tuple[str, int]:
    session = get_session()
    walk = services.get(session, session_id)
    state = services.state(session, walk, labour_rate=labour_rate())
    answer_form = form or AnswerForm(formdata=None)
    if form is None and state.previous is not None and state.previous.value is not None:
        answer_form.value.data = f"{state.previous.value:g}"
    release = latest_release(session)
    feedback = FeedbackForm(formdata=None)
    tree_id = walk.revision.tree_id
    return render_template(
        "diagnose/walk.html",
        safety=notices.safety_blocking(
            session, signed_in_user(), tree_id=tree_id, model_number=walk.model_number
        ),
        tree_notices=notices.about_tree(session, tree_id),
        fix_notices=notices.about_parts(session, [p.requested for p in state.parts])
        if state.parts
        else [],
        state=state,
        form=answer_form,
        button=ButtonForm(),
        feedback=feedback,
        problem=problem,
        implausible=implausible,
        may_change=may_change(walk),
        release=release.label if release else None,
        repair_offer=offers.for_walk(session, signed_in_user(), walk),
        # Whether the unit is in warranty decides how its parts are ordered (paid or warranty).
        warranty=entitlement(session, model_number=walk.model_number, serial=walk.serial)
        if walk.model_number and walk.serial
        else None,
    ), status


def _safety_read(walk_session: DiagnosticSession) -> None:
    """A walk of a tree (or a model) under a safety notice goes on once the notice is read.

    :raises notices.SafetyNoticeFirst: naming the notices to acknowledge.
    """
    notices.require_safety_acknowledged(
        get_session(),
        signed_in_user(),
        tree_id=walk_session.revision.tree_id,
        model_number=walk_session.model_number,
    )


@bp.get("/sessions/<session_id>")
@signed_in
def walk(session_id: str) -> ResponseReturnValue:
    return _walk_page(session_id)


@bp.post("/sessions/<session_id>/answer")
@signed_in
@form_page
def answer(session_id: str) -> ResponseReturnValue:
    form = AnswerForm()
    if not form.validate():
        return _walk_page(session_id, form, status=form.status)
    session = get_session()
    walk_session = services.get(session, session_id, for_update=True)
    require_change(walk_session)
    try:
        _safety_read(walk_session)
    except notices.SafetyNoticeFirst as exc:
        return _walk_page(session_id, form, status=exc.status, problem=exc.message)
    try:
        # A savepoint: the page shows the walk as it was before a refused answer.
        with session.begin_nested():
            services.answer(
                session,
                walk_session,
                option=form.option.data or None,
                value=form.value.data if form.value.data not in (None, "") else None,
                proceed=bool(form.proceed.data),
                at_node=form.node.data or None,
                confirm_implausible=form.confirms_value(),
            )
    except ImplausibleValue as exc:
        return _walk_page(session_id, form, status=422, problem=str(exc), implausible=exc)
    except InvalidAnswer as exc:
        return _walk_page(session_id, form, status=422, problem=str(exc))
    return redirect(url_for("diagnose.walk", session_id=session_id))


@bp.post("/sessions/<session_id>/back")
@signed_in
def back(session_id: str) -> ResponseReturnValue:
    session = get_session()
    walk_session = services.get(session, session_id, for_update=True)
    require_change(walk_session)
    try:
        with session.begin_nested():  # nothing taken back is kept, though the page redirects
            services.back(session, walk_session)
    except InvalidAnswer as exc:
        flash(str(exc), "info")
    return redirect(url_for("diagnose.walk", session_id=session_id))


@bp.post("/sessions/<session_id>/restart")
@signed_in
def restart(session_id: str) -> ResponseReturnValue:
    session = get_session()
    walk_session = services.get(session, session_id, for_update=True)
    require_change(walk_session)
    services.restart(session, walk_session)
    return redirect(url_for("diagnose.walk", session_id=session_id))


@bp.post("/sessions/<session_id>/feedback")
@signed_in
@form_page
def feedback(session_id: str) -> ResponseReturnValue:
    form = FeedbackForm()
    if not form.validate():
        return _walk_page(
            session_id, status=form.status, problem="The feedback could not be saved."
        )
    session = get_session()
    walk_session = services.get(session, session_id, for_update=True)
    require_change(walk_session)
    services.give_feedback(
        session,
        walk_session,
        fixed=form.fixed.data == "yes",
        note=form.note.data or "",
    )
    flash("Thank you: the engineers see this with the tree.", "success")
    return redirect(url_for("diagnose.walk", session_id=session_id))


@bp.get("/sessions/<session_id>/summary")
@signed_in
def summary(session_id: str) -> ResponseReturnValue:
    session = get_session()
    walk_session = services.get(session, session_id)
    state = services.state(session, walk_session, labour_rate=labour_rate())
    return render_template("diagnose/summary.html", state=state)


@bp.post("/sessions/<session_id>/repair")
@roles(*repair_policy.REPAIRERS)
def attach_to_repair(session_id: str) -> ResponseReturnValue:
    """Make the walk part of the unit's repair its page offered (``repair``: the reference)."""
    session = get_session()
    walk_session = services.get(session, session_id)
    reference = (request.form.get("repair") or "").strip()[:20]
    try:
        with session.begin_nested():  # nothing of a refused attach is kept behind the redirect
            repair = repairs.repair_to_work_on(session, signed_in_user(), reference)
            repairs.attach(
                session, repair, kind=LinkKind.WALK, ref=walk_session.id, by=signed_in_user()
            )
    except AppError as exc:
        flash(exc.message, "error")
    else:
        flash(f"This walk is part of {repair.reference} now.", "success")
    return redirect(url_for("diagnose.walk", session_id=session_id))
