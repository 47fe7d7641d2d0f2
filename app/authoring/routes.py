"""Authoring pages for engineers: the tree list with figures, the editor with its picture and
validation report, diff, try-it, publish and retire, upload and download."""

from __future__ import annotations

import copy
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import form_page, roles
from app.authoring import bp
from app.authoring.forms import (
    DetailsForm,
    NewTreeForm,
    NodeForm,
    UploadForm,
    VersionForm,
    write_options,
    write_parts,
    write_plausible,
    write_ranges,
)
from app.authoring.picture import draw
from app.db import after_commit, get_session, session_factory
from app.diagnose.documents import tree_limits
from app.extensions import current_settings
from app.repairs.analytics import tree_analytics
from app.roles import Role
from app.search import indexing
from diagnostics import authoring, services, trees, walk
from diagnostics.errors import InvalidAnswer, InvalidTree, UnknownTree
from diagnostics.models import TreeRevision
from diagnostics.trees import Problem
from parts_catalog.services import latest_release, resolve_number

AUTHORS = (Role.ENGINEER, Role.ADMIN)


@bp.get("")
@roles(*AUTHORS)
def index() -> ResponseReturnValue:
    return render_template(
        "authoring/index.html",
        rows=authoring.overview(get_session()),
        new_form=NewTreeForm(formdata=None),
        upload_form=UploadForm(formdata=None),
    )


@bp.post("/new")
@roles(*AUTHORS)
@form_page
def new() -> ResponseReturnValue:
    form = NewTreeForm()
    session = get_session()
    if form.validate():
        tree_id = form.tree_id.data or ""
        if _exists(tree_id):
            form.tree_id.errors = [*form.tree_id.errors, "A tree with this id exists already."]
        else:
            document = {
                "id": tree_id,
                "title": form.title.data,
                "start": "start",
                "nodes": {"start": {"kind": form.kind.data, "text": form.text.data}},
            }
            return _save(tree_id, document, None, action="created", node="start")
    return render_template(
        "authoring/index.html",
        rows=authoring.overview(session),
        new_form=form,
        upload_form=UploadForm(formdata=None),
    ), form.status


def _document(revision: TreeRevision) -> dict[str, Any]:
    return copy.deepcopy(revision.document)


def _editor(
    tree_id: str,
    *,
    node_form: NodeForm | None = None,
    details_form: DetailsForm | None = None,
    status: int = 200,
    conflict: authoring.StaleDraft | None = None,
    refused: list[Problem] | None = None,
) -> tuple[str, int]:
    session = get_session()
    revision = authoring.working_copy(session, tree_id)
    document = revision.document
    tree, _parse_problems = trees.parse(document, max_nodes=None)
    problems = authoring.problems_of(session, revision)
    marked = {_node_of(p) for p in problems} - {None}
    picture = draw(tree, marked) if tree else None  # type: ignore[arg-type]
    selected = request.args.get("node") or (node_form.node_id.data if node_form else None)
    if node_form is not None and request.form.get("mode") == "add":
        selected = None  # still adding: the id field, with its message, stays on the form
    nodes = document.get("nodes") or {}
    if node_form is None:
        node_form = NodeForm(formdata=None)
        node = nodes.get(selected) if selected else None
        if node is not None:
            node_form.node_id.data = selected
            node_form.kind.data = node.get("kind")
            node_form.text.data = node.get("text")
            node_form.options.data = write_options(node)
            node_form.unit.data = node.get("unit")
            node_form.plausible.data = write_plausible(node)
            node_form.ranges.data = write_ranges(node)
            node_form.next.data = node.get("next")
            node_form.parts.data = write_parts(node)
            node_form.labour_minutes.data = node.get("labour_minutes")
        node_form.version.data = authoring.etag(revision)
    if details_form is None:
        details_form = DetailsForm(formdata=None)
        details_form.title.data = document.get("title")
        details_form.product_line.data = document.get("product_line")
        details_form.models.data = ", ".join(document.get("models") or [])
        details_form.chassis.data = ", ".join(document.get("chassis") or [])
        details_form.codes.data = ", ".join(document.get("codes") or [])
        details_form.symptoms.data = "\n".join(document.get("symptoms") or [])
        details_form.start.data = document.get("start")
        details_form.version.data = authoring.etag(revision)
    button = VersionForm(formdata=None)
    button.version.data = authoring.etag(revision)
    upload = UploadForm(formdata=None)
    upload.version.data = authoring.etag(revision)
    return render_template(
        "authoring/editor.html",
        revision=revision,
        document=document,
        picture=picture,
        problems=problems,
        selected=selected if selected in nodes else None,
        node_form=node_form,
        details_form=details_form,
        button=button,
        upload=upload,
        published=authoring.published_of(session, tree_id),
        changes=authoring.changes(session, tree_id)[:15],
        figures=authoring.figures(session, tree_id),
        conflict=conflict,
        conflict_yaml=trees.dump(conflict.current.document) if conflict else None,
        refused=refused,
        parts_now=_parts_now(document),
    ), status


def _node_of(problem: Problem) -> str | None:
    if problem.where.startswith("nodes."):
        return problem.where.split(".")[1].split("[")[0]
    return None


def _parts_now(document: dict[str, Any]) -> dict[str, str]:
    """What the catalogue says today of every part the tree names (shown beside the editor)."""
    session = get_session()
    release = latest_release(session)
    found: dict[str, str] = {}
    if release is None:
        return found
    for node in (document.get("nodes") or {}).values():
        for ref in node.get("parts") or [] if isinstance(node, dict) else []:
            number = str(ref.get("part", "")) if isinstance(ref, dict) else ""
            if not number or number in found:
                continue
            resolution = resolve_number(session, number, release=release)
            if not resolution.known:
                found[number] = "not in the catalogue"
            elif resolution.outcome == "current":
                found[number] = "current"
            else:
                order = ", ".join(f"{i.part_number} × {i.quantity}" for i in resolution.result)
                found[number] = (
                    f"{resolution.outcome.replace('_', ' ')}: order {order or 'nothing'}"
                )
    return found


def _save(
    tree_id: str,
    document: dict[str, Any],
    version: str | None,
    *,
    action: str = "saved",
    node: str | None = None,
    node_form: NodeForm | None = None,
    details_form: DetailsForm | None = None,
) -> ResponseReturnValue:
    session = get_session()
    try:
        # A savepoint: a refused save leaves nothing behind, whatever the page answers with.
        with session.begin_nested():
            saved = authoring.save_draft(
                session,
                tree_id,
                document,
                based_on=version,
                by=current_user.email,
                action=action,
                limits=tree_limits(),
            )
    except authoring.StaleDraft as exc:
        # The form keeps what was typed, now based on their version: submitting it again
        # saves it over theirs, knowingly.
        for form in (node_form, details_form):
            if form is not None:
                form.version.data = authoring.etag(exc.current)
        return _editor(
            tree_id, node_form=node_form, details_form=details_form, status=409, conflict=exc
        )
    except (InvalidTree, authoring.VersionRequired) as exc:
        problems = exc.problems if isinstance(exc, InvalidTree) else [Problem("", str(exc))]
        if authoring.draft_of(session, tree_id) is None and not _exists(tree_id):
            flash("The tree could not be created: " + "; ".join(map(str, problems)), "error")
            return redirect(url_for("authoring.index"))
        return _editor(
            tree_id, node_form=node_form, details_form=details_form, status=422, refused=problems
        )
    state = (
        "ready to publish"
        if saved.valid
        else f"not yet publishable ({len(saved.problems)} problems)"
    )
    flash(f"Saved as draft version {authoring.etag(saved.revision)}: {state}.", "success")
    return redirect(url_for("authoring.editor", tree_id=tree_id, node=node))


def _exists(tree_id: str) -> bool:
    try:
        services.get_revision(get_session(), tree_id)
    except UnknownTree:
        return False
    return True


@bp.get("/trees/<tree_id>")
@roles(*AUTHORS)
def editor(tree_id: str) -> ResponseReturnValue:
    return _editor(tree_id)


@bp.post("/trees/<tree_id>/details")
@roles(*AUTHORS)
@form_page
def details(tree_id: str) -> ResponseReturnValue:
    form = DetailsForm()
    if not form.validate():
        return _editor(tree_id, details_form=form, status=form.status)
    session = get_session()
    document = _document(authoring.working_copy(session, tree_id))

    def listed(text: str | None) -> list[str]:
        return [v.strip() for v in (text or "").split(",") if v.strip()]

    document.update(
        title=form.title.data,
        start=form.start.data,
        models=listed(form.models.data),
        chassis=listed(form.chassis.data),
        codes=listed(form.codes.data),
        symptoms=[v.strip() for v in (form.symptoms.data or "").splitlines() if v.strip()],
    )
    if form.product_line.data:
        document["product_line"] = form.product_line.data
    else:
        document.pop("product_line", None)
    for key in ("models", "chassis", "codes", "symptoms"):
        if not document[key]:
            del document[key]
    return _save(tree_id, trees.to_document_dict(document), form.version.data, details_form=form)


@bp.post("/trees/<tree_id>/nodes")
@roles(*AUTHORS)
@form_page
def save_node(tree_id: str) -> ResponseReturnValue:
    form = NodeForm()
    if not form.validate():
        return _editor(tree_id, node_form=form, status=form.status)
    session = get_session()
    document = _document(authoring.working_copy(session, tree_id))
    node_id = form.node_id.data or ""
    if request.form.get("mode") == "add" and node_id in (document.get("nodes") or {}):
        form.node_id.errors = [
            *form.node_id.errors,
            "A node with this id exists: choose another id, or select the node to edit it.",
        ]
        return _editor(tree_id, node_form=form, status=422)
    document.setdefault("nodes", {})[node_id] = form.node()
    return _save(
        tree_id, trees.to_document_dict(document), form.version.data, node=node_id, node_form=form
    )


@bp.post("/trees/<tree_id>/nodes/<node_id>/delete")
@roles(*AUTHORS)
def delete_node(tree_id: str, node_id: str) -> ResponseReturnValue:
    form = VersionForm()
    session = get_session()
    document = _document(authoring.working_copy(session, tree_id))
    (document.get("nodes") or {}).pop(node_id, None)
    return _save(tree_id, document, form.version.data)


def _search_follows() -> None:
    """This node's tree index takes the change now, when that is quick."""
    indexing.sync_after_request(session_factory(), indexing.trees_index())


@bp.post("/trees/<tree_id>/publish")
@roles(*AUTHORS)
def publish(tree_id: str) -> ResponseReturnValue:
    session = get_session()
    form = VersionForm()
    try:
        with session.begin_nested():  # refused: nothing of it is kept, though the page redirects
            authoring.publish(session, tree_id, by=current_user.email, based_on=form.version.data)
    except authoring.StaleDraft as exc:
        flash(f"Not published: {exc}", "error")
        return redirect(url_for("authoring.editor", tree_id=tree_id))
    except InvalidTree as exc:
        flash(f"Not published: {exc} See the report beside the picture.", "error")
        return redirect(url_for("authoring.editor", tree_id=tree_id))
    after_commit(_search_follows)
    flash("Published: technicians walk this revision from now on.", "success")
    return redirect(url_for("authoring.editor", tree_id=tree_id))


@bp.post("/trees/<tree_id>/retire")
@roles(*AUTHORS)
def retire(tree_id: str) -> ResponseReturnValue:
    session = get_session()
    authoring.retire(session, tree_id, by=current_user.email)
    after_commit(_search_follows)
    flash("Retired: technicians no longer see this tree; walks already on it keep it.", "success")
    return redirect(url_for("authoring.editor", tree_id=tree_id))


@bp.get("/trees/<tree_id>/diff")
@roles(*AUTHORS)
def diff(tree_id: str) -> ResponseReturnValue:
    session = get_session()
    working = authoring.working_copy(session, tree_id)
    published = authoring.published_of(session, tree_id)
    lines = authoring.diff(published.document if published else None, working.document)
    return render_template(
        "authoring/diff.html",
        revision=working,
        published=published,
        lines=lines,
        before=trees.dump(published.document) if published else "",
        after=trees.dump(working.document),
    )


@bp.get("/trees/<tree_id>/try")
@roles(*AUTHORS)
def try_it(tree_id: str) -> ResponseReturnValue:
    """Walk the draft without recording anything: the answers travel in the address."""
    session = get_session()
    revision = authoring.working_copy(session, tree_id)
    tree, _problems = trees.parse(revision.document, max_nodes=None)
    if tree is None or tree.start not in tree.nodes:
        flash("The draft cannot be walked yet: fix the problems in the report first.", "error")
        return redirect(url_for("authoring.editor", tree_id=tree_id))
    given = request.args.getlist("a")
    answers: list[walk.Answer] = []
    problem = None
    node_id = tree.start
    for raw in given:
        node = tree.nodes.get(node_id)
        if node is None or node.is_terminal:
            break
        try:
            answer = walk.answer_for(
                node,
                option=raw if node.kind == "choice" else None,
                value=raw if node.kind == "measure" else None,
                proceed=node.kind == "step",
            )
            node_id = walk.follow(node, answer)
        except (InvalidAnswer, StopIteration) as exc:
            problem = str(exc)
            break
        answers.append(answer)
    node = tree.nodes.get(node_id)
    return render_template(
        "authoring/try.html",
        revision=revision,
        tree=tree,
        node=node,
        node_id=node_id,
        path=walk.path(tree, answers),
        given=given[: len(answers)],
        problem=problem,
    )


@bp.get("/trees/<tree_id>/download")
@roles(*AUTHORS)
def download(tree_id: str) -> ResponseReturnValue:
    revision = authoring.working_copy(get_session(), tree_id)
    fmt = "json" if request.args.get("format") == "json" else "yaml"
    return Response(
        trees.dump(revision.document, fmt=fmt),
        mimetype="application/json" if fmt == "json" else "application/yaml",
        headers={
            "Content-Disposition": f'attachment; filename="{tree_id}-r{revision.number}.{fmt}"'
        },
    )


@bp.post("/trees/<tree_id>/upload")
@roles(*AUTHORS)
@form_page
def upload(tree_id: str) -> ResponseReturnValue:
    form = UploadForm()
    if not form.validate():
        flash(" ".join(form.file.errors) or "Choose a file to upload.", "error")
        return redirect(url_for("authoring.editor", tree_id=tree_id))
    limits = tree_limits()
    name = f"{form.file.data.filename}: "
    # One byte more than the limit is enough to refuse it, without reading the rest.
    data = form.file.data.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        form.file.data.seek(0, 2)
        oversized = trees.too_big(form.file.data.tell(), limits, name=name)
        assert oversized is not None  # it is over the limit: read past it above
        return _editor(tree_id, status=422, refused=[oversized])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _editor(tree_id, status=422, refused=[Problem("", "the file is not UTF-8 text")])
    document, problems = trees.load_text(text, name=name, limits=limits)
    if document is None:
        return _editor(tree_id, status=422, refused=problems)
    return _save(tree_id, document, form.version.data, action="uploaded")


@bp.get("/trees/<tree_id>/analytics")
@roles(*AUTHORS)
def analytics(tree_id: str) -> ResponseReturnValue:
    """What walks and repairs say of a tree: per fix, where walks stop, what escalates."""
    figures = tree_analytics(get_session(), tree_id, settings=current_settings().repairs)
    return render_template("authoring/analytics.html", figures=figures)
