"""The log of documents whose index entries changed (``search_changes``), which every node's
search index follows.

Rows are appended in the transaction that changed the data, and applying them leaves them be:
each node's index records in its ``meta.json`` the last change id it applied (its cursor) and
applies what comes after. Old rows are pruned by age (``prune``); a node whose cursor falls
behind what was pruned rebuilds from the database.

**Ids follow commit order.** A follower may only move its cursor past id N when no change with a
lower id can still commit. Plain sequence values do not promise that: on PostgreSQL a transaction
can draw id 100, another draw 101 and commit first, and a follower that applied 101 would never
see 100. So every transaction that appends takes one lock before drawing ids
(``pg_advisory_xact_lock``, held until it commits or rolls back), and appenders draw ids one
transaction after the other. A transaction's ids are therefore all above those of every change
committed before it took the lock, and all below those of every change that takes it after:
whenever a follower can see id N, every lower id is committed (visible in the same read) or will
never exist (rolled back). On SQLite a transaction that writes holds the database's one write
lock until it ends, which gives the same order; ``AUTOINCREMENT`` keeps ids from being reused
once rows are pruned. The lock is taken at the end of an import (the queue is written last) and
by a tree's publication, so it serialises only those short last steps.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from parts_catalog.models import SearchChange
from parts_catalog.sqltypes import utcnow

# One advisory lock key for the log, the same in every process (a stable hash of its name).
_APPEND_LOCK = zlib.crc32(b"benchside.search_changes")


def lock_for_append(session: Session) -> None:
    """Take the log's append lock for the rest of the session's transaction (see above).

    Call before drawing ids: every insert into the log goes through here.
    """
    # The caller's pending writes first: their row locks are then taken before this lock, not
    # while holding it, so the holder does not wait for a row held by a transaction that is
    # itself waiting here (a deadlock).
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})


def enqueue(session: Session, index_name: str, doc_ids: Iterable[str]) -> int:
    """Append changed documents to the log, in the caller's transaction; returns how many."""
    lock_for_append(session)
    now = utcnow()
    rows = [{"index_name": index_name, "doc_id": d, "queued_at": now} for d in doc_ids]
    for start in range(0, len(rows), 1_000):
        session.execute(insert(SearchChange), rows[start : start + 1_000])
    return len(rows)


def high_water(session: Session) -> int:
    """The newest change id in the log (0 when it is empty): every change up to it is
    committed or never will be."""
    return session.scalar(select(func.max(SearchChange.id))) or 0


def pruned_through(session: Session) -> int:
    """The highest id that may have been pruned (0 when nothing was): a follower whose cursor
    is below it may have missed changes and must rebuild."""
    oldest = session.execute(
        select(SearchChange.id, SearchChange.pruned_before).order_by(SearchChange.id).limit(1)
    ).first()
    if oldest is None or not oldest.pruned_before:
        return 0
    first: int = oldest.id
    return first - 1


def changes_after(
    session: Session, index_name: str, *, after: int, upto: int, limit: int
) -> list[tuple[int, str]]:
    """The oldest ``limit`` changes of an index with ``after < id <= upto``: (id, document id)."""
    rows = session.execute(
        select(SearchChange.id, SearchChange.doc_id)
        .where(
            SearchChange.index_name == index_name,
            SearchChange.id > after,
            SearchChange.id <= upto,
        )
        .order_by(SearchChange.id)
        .limit(limit)
    )
    return [(row_id, doc_id) for row_id, doc_id in rows]


def count_after(session: Session, index_name: str, *, after: int) -> int:
    """How many changes of an index come after ``after`` (what a follower has yet to apply)."""
    return (
        session.scalar(
            select(func.count()).where(
                SearchChange.index_name == index_name, SearchChange.id > after
            )
        )
        or 0
    )


def prune(session: Session, *, before: datetime) -> int:
    """Forget changes queued before ``before``; returns how many rows went.

    Rows go as a prefix in id order, up to (not including) the newest row older than
    ``before``, which stays and is marked: the oldest row then tells followers how far the log
    was cut (``pruned_through``), and the newest row never goes, so ids are never reused and
    ``high_water`` never falls. Several nodes may prune at once.
    """
    boundary = session.scalar(
        select(func.max(SearchChange.id)).where(SearchChange.queued_at < before)
    )
    if boundary is None:
        return 0
    # Through the connection, whose result carries the row count.
    deleted = session.connection().execute(delete(SearchChange).where(SearchChange.id < boundary))
    gone = deleted.rowcount
    if gone:
        session.execute(
            update(SearchChange).where(SearchChange.id == boundary).values(pruned_before=True)
        )
    return gone
