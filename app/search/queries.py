"""Running a search for the web pages and the API: the index, the database and synonyms."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app

from app.db import get_session
from app.models import utcnow
from app.search import misses
from app.search.indexing import parts_index, trees_index
from diagnostics.search import KIND as TREE
from diagnostics.search import search_trees
from diagnostics.services import trees_for_model
from parts_catalog import search
from parts_catalog.indexes import IndexUnavailable
from parts_catalog.search_index import MODEL, PART
from parts_catalog.services import latest_release

# The API's and the page's names for what to search.
KIND_NAMES = {"parts": PART, "models": MODEL, "trees": TREE}


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
    wanted = {KIND_NAMES[k] for k in kinds if k in KIND_NAMES}
    found = _catalogue(text, wanted, filters=filters, limit=limit, offset=offset, facets=facets)
    part_filters = filters and (filters.category or filters.status or filters.product_line)
    if TREE in wanted and offset == 0 and not part_filters:
        model = (filters.model if filters else None) or found.model
        trees = _trees(text, limit=limit, model=model)
        # Numbers first (a number names a part); then a guided fix; then parts by words.
        numbers = [h for h in found.hits if h.why != "words"]
        words = [h for h in found.hits if h.why == "words"]
        found.hits = (numbers + trees + words)[:limit]
        found.total += len(trees)
        if trees:
            found.did_you_mean = None
            found.suggestions = []
    return found


def note_miss(text: str, found: search.Results, *, narrowed: bool, answered: bool) -> None:
    """Count ``text`` among this week's misses (``app.search.misses``) when the catalogue and
    the trees found nothing for it. Not a miss: a search ``narrowed`` by filters or past its
    first page, one ``answered`` otherwise (notices, a unit's history), or one the index could
    not serve."""
    if found.hits or found.unavailable or narrowed or answered or not text.strip():
        return
    misses.record(get_session(), text, on=utcnow().date())


def _trees(text: str, *, limit: int, model: str | None) -> list[search.Hit]:
    store = trees_index()
    try:
        searcher = store.searcher()
    except IndexUnavailable as exc:
        current_app.logger.warning("search: %s", exc)
        return []
    hits = search_trees(searcher, text, limit=limit)
    if model:
        # Only the model's trees (its chassis decides where trees name one).
        applying = {r.tree_id for r in trees_for_model(get_session(), model)}
        hits = [hit for hit in hits if hit.key in applying]
    return [
        search.Hit(
            kind=TREE,
            key=hit.key,
            title=hit.title,
            score=hit.score,
            why="words",
            status="published",
            highlights=(search.Highlight("symptoms", hit.symptoms),) if hit.symptoms else (),
        )
        for hit in hits
    ]


def _catalogue(
    text: str,
    wanted: set[str],
    *,
    filters: search.Filters | None,
    limit: int,
    offset: int,
    facets: bool,
) -> search.Results:
    session = get_session()
    release = latest_release(session)
    if release is None or not wanted - {TREE}:
        return search.Results(query=" ".join(text.split())[:200])
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
        kinds=sorted(wanted - {TREE}),
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
