"""Search pages. Views are thin: read arguments, run the search, render."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import form_page, roles, signed_in
from app.db import get_session
from app.models import utcnow
from app.notices import search as notice_search
from app.notices import services as notices
from app.notices.models import Notice
from app.repairs.lookup import unit_in
from app.roles import Role
from app.search import bp, misses, queries
from app.search.forms import DeleteForm, SynonymForm
from parts_catalog import search, spelling, synonyms
from parts_catalog.errors import CatalogError
from parts_catalog.search_index import MODEL, PART

PAGE_SIZE = 25
SUGGESTIONS = 8
SYNONYM_KEEPERS = (Role.ENGINEER, Role.ADMIN)
NOTICES = "notices"  # the page's kind for notices (the catalogue's kinds are queries.KIND_NAMES)
MISS_READERS = (Role.ENGINEER, Role.ADMIN)
#: How each "did you mean" differs from what was typed, in words (parts_catalog.spelling).
REASONS = {
    spelling.DIGIT: "one digit different",
    spelling.LETTER: "one letter different",
    spelling.SWAP: "two characters swapped",
    spelling.MISSING: "a character missing",
    spelling.EXTRA: "one character too many",
    spelling.SPELLING: "spelling corrected",
    spelling.MODEL_NUMBER: "model number corrected",
    spelling.SPELLING_AND_MODEL: "spelling and model number corrected",
}


def _filters() -> search.Filters:
    args = request.args
    return search.Filters(
        category=args.get("category") or None,
        status=args.get("status") or None,
        product_line=args.get("product_line") or None,
        model=args.get("model") or None,
    )


def result_url(hit: search.Hit) -> str:
    if hit.kind == "tree":
        return url_for("diagnose.tree", tree_id=hit.key)
    if hit.kind == MODEL:
        return url_for("catalog.model", number=hit.key)
    return url_for("catalog.part", number=hit.key)


@bp.get("")
@signed_in
def results() -> ResponseReturnValue:
    text = request.args.get("q", "").strip()[:200]
    kind = request.args.get("kind", "")
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    filters = _filters()
    found = None
    typed = None  # the query as typed, when the page shows its one correction's results
    correction = None
    session = get_session()
    # Notices: searched in the database by words and by the numbers they target; with
    # ``kind=notices`` alone, otherwise beside the catalogue's results.
    notices_found = notice_search.find(session, text) if text and kind in ("", NOTICES) else []
    # A model with a serial names a unit: its history across centres is offered first.
    unit = unit_in(session, text) if text else None
    if text and kind != NOTICES:
        kinds = [kind] if kind in queries.KIND_NAMES else tuple(queries.KIND_NAMES)
        found = queries.run(
            text,
            kinds=kinds,
            filters=filters,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            facets=True,
        )
        queries.note_miss(
            text,
            found,
            narrowed=filters.any() or page > 1,
            answered=bool(notices_found) or unit is not None,
        )
        only = found.suggestions[0] if len(found.suggestions) == 1 else None
        if only and not found.hits and page == 1 and request.args.get("as_typed") != "1":
            # One thing meant: its results at once, with a way back to the query as typed.
            corrected = queries.run(
                only.query, kinds=kinds, filters=filters, limit=PAGE_SIZE, facets=True
            )
            if corrected.hits:
                typed, correction, text, found = text, only, only.query, corrected
    return render_template(
        "search/results.html",
        unit=unit,
        query=text,
        typed=typed,
        correction=correction,
        reasons=REASONS,
        kind=kind,
        page=page,
        page_size=PAGE_SIZE,
        filters=filters,
        found=found,
        result_url=result_url,
        notices_found=notices_found,
        hit_notices=_hit_notices(found) if found else {},
    )


def _hit_notices(found: search.Results) -> dict[str, list[Notice]]:
    """The published notices beside each part and model on the page (a part's whole chain)."""
    session = get_session()
    if not notices.published(session):
        return {}  # the usual case, without a look at any chain
    beside: dict[str, list[Notice]] = {}
    for hit in found.hits:
        if hit.kind == MODEL:
            about = notices.about_model(session, hit.key)
        elif hit.kind == PART:
            about = notices.about_parts(session, [hit.key])
        else:
            continue
        if about:
            beside[hit.key] = about
    return beside


@bp.get("/suggest")
@signed_in
def suggest() -> ResponseReturnValue:
    """The search box's suggestions as you type (the box works as a plain form without them)."""
    text = request.args.get("q", "").strip()[:200]
    kind = request.args.get("kind", "")
    kinds = [kind] if kind in queries.KIND_NAMES else tuple(queries.KIND_NAMES)
    found = queries.run(text, kinds=kinds, limit=SUGGESTIONS) if len(text) >= 2 else None
    items: list[dict[str, Any]] = []
    for hit in found.hits if found else []:
        note = next(
            (h.text for h in hit.highlights if h.field in ("replaces", "replaced_by")), None
        )
        items.append(
            {
                "kind": hit.kind,
                "key": hit.key,
                "title": hit.title,
                "note": note,
                "url": result_url(hit),
            }
        )
    return jsonify(query=text, suggestions=items)


@bp.route("/synonyms", methods=["GET", "POST"])
@roles(*SYNONYM_KEEPERS)
@form_page
def synonym_list() -> ResponseReturnValue:
    session = get_session()
    form = SynonymForm()
    if form.validate_on_submit():
        try:
            synonyms.add(
                session,
                words=form.words.data or "",
                means=form.means.data or "",
                by=current_user.email,
            )
        except CatalogError as exc:
            form.words.errors = [*form.words.errors, str(exc)]
        else:
            flash(f"“{form.words.data}” now also finds “{form.means.data}”.", "success")
            return redirect(url_for("search.synonym_list"))
    return render_template(
        "search/synonyms.html",
        form=form,
        delete_form=DeleteForm(),
        synonyms=synonyms.listed(session),
    ), form.status


@bp.post("/synonyms/<int:synonym_id>/delete")
@roles(*SYNONYM_KEEPERS)
def delete_synonym(synonym_id: int) -> ResponseReturnValue:
    session = get_session()
    removed = synonyms.remove(session, synonym_id)
    if removed is not None:
        flash(f"Removed: “{removed.words}” → “{removed.means}”.", "success")
    return redirect(url_for("search.synonym_list"))


@bp.get("/misses")
@roles(*MISS_READERS)
def miss_list() -> ResponseReturnValue:
    """The commonest searches that found nothing, this week and the weeks before."""
    return render_template(
        "search/misses.html",
        weeks=misses.commonest(get_session(), today=utcnow().date()),
        may_edit_synonyms=current_user.role in SYNONYM_KEEPERS,
    )
