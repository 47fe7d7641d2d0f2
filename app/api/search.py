"""``GET /api/v1/search``: parts and models (and diagnostic trees, once there are some)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from app.access import signed_in
from app.api import bp
from app.api.schemas import SearchArgs, SearchSchema
from app.search import queries
from parts_catalog import search


@bp.route("/search", methods=["GET"])
@bp.arguments(SearchArgs, location="query", as_kwargs=True)
@bp.response(200, SearchSchema)
@signed_in
def search_all(q: str, kind: str | None, limit: int, **filters: str | None) -> dict[str, Any]:
    """Best first: an exact number (and the part that replaces it), a number's family, then
    words. A query that matches nothing relevant returns no results."""
    found = queries.run(
        q,
        kinds=[kind] if kind else tuple(queries.KIND_NAMES),
        filters=search.Filters(**filters),
        limit=limit,
    )
    return {
        "query": found.query,
        "results": [
            {
                **asdict(hit),
                "highlights": [
                    {"field": h.field, "text": h.text, "spans": [list(s) for s in h.spans]}
                    for h in hit.highlights
                ],
            }
            for hit in found.hits
        ],
        "did_you_mean": found.did_you_mean,
        "total": found.total,
        "total_is_estimate": found.total_is_estimate,
        "ignored": found.ignored,
        "model": found.model,
        "index_available": not found.unavailable,
    }
