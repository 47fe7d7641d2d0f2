"""``GET /api/v1/search``: parts and models (and diagnostic trees, once there are some)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import url_for

from app.access import signed_in
from app.api import bp
from app.api.schemas import SearchArgs, SearchSchema
from app.db import get_session
from app.notices import search as notice_search
from app.search import queries
from parts_catalog import search


@bp.route("/search", methods=["GET"])
@bp.arguments(SearchArgs, location="query", as_kwargs=True)
@bp.response(200, SearchSchema)
@signed_in
def search_all(q: str, kind: str | None, limit: int, **filters: str | None) -> dict[str, Any]:
    """Best first: an exact number (and the part that replaces it), a number's family, then
    words. A query that matches nothing relevant returns no results, and ``corrections`` what
    to try instead (a number one digit off, words misspelt); it is counted, words only, among
    the week's misses engineers see. ``notices`` lists the
    published notices that say the words or are about the part or model asked
    (``kind=notices``: only those)."""
    said = (
        [
            {
                "id": n.id,
                "reference": n.reference,
                "title": n.title,
                "kind": n.kind.value,
                "safety": n.safety,
                "url": url_for("notices.notice", notice_id=n.id),
            }
            for n in notice_search.find(get_session(), q, limit=limit)
        ]
        if kind in (None, "notices")
        else []
    )
    if kind == "notices":
        return {
            "query": q,
            "results": [],
            "did_you_mean": None,
            "corrections": [],
            "total": 0,
            "total_is_estimate": False,
            "ignored": [],
            "model": None,
            "index_available": True,
            "notices": said,
        }
    found = queries.run(
        q,
        kinds=[kind] if kind else tuple(queries.KIND_NAMES),
        filters=search.Filters(**filters),
        limit=limit,
    )
    queries.note_miss(
        q, found, narrowed=any(v is not None for v in filters.values()), answered=bool(said)
    )
    return {
        "notices": said,
        "query": found.query,
        "results": [_result(hit) for hit in found.hits],
        "did_you_mean": found.did_you_mean,
        "corrections": [asdict(s) for s in found.suggestions],
        "total": found.total,
        "total_is_estimate": found.total_is_estimate,
        "ignored": found.ignored,
        "model": found.model,
        "index_available": not found.unavailable,
    }


def _result(hit: search.Hit) -> dict[str, Any]:
    # Field by field, not dataclasses.asdict: its deep copy of every hit's highlights took a
    # twentieth of a word search's time.
    return {
        "kind": hit.kind,
        "key": hit.key,
        "title": hit.title,
        "score": hit.score,
        "why": hit.why,
        "status": hit.status,
        "category": hit.category,
        "safety_critical": hit.safety_critical,
        "highlights": [
            {"field": h.field, "text": h.text, "spans": [list(s) for s in h.spans]}
            for h in hit.highlights
        ],
        "replacement": asdict(hit.replacement) if hit.replacement is not None else None,
    }
