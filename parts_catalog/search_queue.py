"""The queue of documents whose index entries are out of date (``search_pending``).

Rows are written in the transaction that changed the data and deleted, by id, by the one index
writer once applied: a change committed meanwhile keeps its row for the next pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from parts_catalog.models import SearchPending
from parts_catalog.sqltypes import utcnow


def pending(session: Session, index_name: str, *, limit: int) -> list[tuple[int, str]]:
    """The oldest ``limit`` queued changes of an index: (queue id, document id)."""
    rows = session.execute(
        select(SearchPending.id, SearchPending.doc_id)
        .where(SearchPending.index_name == index_name)
        .order_by(SearchPending.id)
        .limit(limit)
    )
    return [(row_id, doc_id) for row_id, doc_id in rows]


def pending_count(session: Session, index_name: str) -> int:
    return session.scalar(select(func.count()).where(SearchPending.index_name == index_name)) or 0


def clear(session: Session, ids: Sequence[int]) -> None:
    """Forget applied changes, by id."""
    for chunk in range(0, len(ids), 500):
        session.execute(delete(SearchPending).where(SearchPending.id.in_(ids[chunk : chunk + 500])))


def enqueue(session: Session, index_name: str, doc_ids: Iterable[str]) -> int:
    """Queue documents for the writer; returns how many."""
    now = utcnow()
    rows = [{"index_name": index_name, "doc_id": d, "queued_at": now} for d in doc_ids]
    for start in range(0, len(rows), 1_000):
        session.execute(insert(SearchPending), rows[start : start + 1_000])
    return len(rows)
