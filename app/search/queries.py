"""Running a search for the web pages and the API: the index, the database and synonyms."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app

from app.db import get_session
from app.search.indexing import parts_index
from parts_catalog import search
from parts_catalog.indexes import IndexUnavailable
from parts_catalog.services import latest_release

# The API's and the page's names for what to search; trees arrive with diagnostics.
KIND_NAMES = {"parts": search.PART, "models": search.MODEL, "trees": "tree"}


def run(
    text: str,
    *,
    kinds: Sequence[str] = tuple(KIND_NAMES),
    filters: search.Filters | None = None,
    limit: int = 20,
    offset: int = 0,
    facets: bool = False,
) -> search.Results:
    """Search the newest release. A missing or damaged index never fails the request: numbers
    are still answered from the database, and the results say the rest is unavailable."""
    session = get_session()
    release = latest_release(session)
    if release is None:
        return search.Results(query=text)
    store = parts_index()
    try:
        searcher = store.searcher()
    except IndexUnavailable as exc:
        current_app.logger.warning("search: %s", exc)
        searcher = None
    engine = search.PartSearch(
        session,
        searcher,
        release,
        kinds=[KIND_NAMES[k] for k in kinds if k in KIND_NAMES],
        filters=filters,
        synonyms=search.load_synonyms(session),
    )
    try:
        return engine.run(text, limit=limit, offset=offset, facets=facets)
    except (OSError, ValueError, EOFError, KeyError) as exc:
        # A segment damaged after the searcher opened; numbers still work without the index.
        current_app.logger.error("search index unreadable: %r", exc)
        store.close()
        engine.searcher = None
        return engine.run(text, limit=limit, offset=offset, facets=False)
