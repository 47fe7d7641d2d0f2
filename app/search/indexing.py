"""Keeping this node's search indexes true to the database: rebuild, follow the change log, check.

Each node (machine) keeps its own indexes under ``SEARCH_INDEX_DIR`` and follows the database's
log of changes (``search_changes``, filled in the transactions that change the data; see
``parts_catalog.search_queue``). An index's ``meta.json`` records the last change id applied;
a pass applies the index's changes after it, then moves it. Nothing is deleted from the log by
applying it, so every node sees every change; old rows are pruned by age (``prune``).

An index is rebuilt from the database instead when it is missing, unreadable or written by
another version, when its cursor lies beyond the log's end or its release is not one this
database has (an index from another or a restored database), when changes it has not applied
were pruned, or when a long list waits (a first release of a million parts).

Every function here writes through ``IndexStore.writing``, the one writer's lock of this
machine. Applying a change twice is harmless, so a writer that dies midway only repeats work.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.db import session_factory
from diagnostics.search import TreesCorpus
from parts_catalog import search_index, search_queue
from parts_catalog.indexes import (
    Corpus,
    Drift,
    IndexMeta,
    IndexStore,
    IndexUnavailable,
    WriterBusy,
    compare,
    write_generation,
)
from parts_catalog.sqltypes import utcnow

# Past this many changes to apply a rebuild is quicker than applying them one by one.
REBUILD_ABOVE = 50_000
BATCH = 5_000
# Changes older than this many days are pruned from the log (``SEARCH_CHANGES_KEEP_DAYS``); a
# node away for longer rebuilds its indexes when it comes back.
KEEP_DAYS = 14

Progress = Callable[[int], None]


def init_app(app: Flask) -> None:
    root = app.config["SEARCH_INDEX_DIR"]
    corpora: list[Corpus] = [search_index.PartsCorpus(), TreesCorpus()]
    app.extensions["search_indexes"] = {c.name: IndexStore.of(root, c) for c in corpora}


def stores(app: Flask | None = None) -> list[IndexStore]:
    return list((app or current_app).extensions["search_indexes"].values())


def parts_index(app: Flask | None = None) -> IndexStore:
    store: IndexStore = (app or current_app).extensions["search_indexes"][search_index.INDEX_NAME]
    return store


def trees_index(app: Flask | None = None) -> IndexStore:
    store: IndexStore = (app or current_app).extensions["search_indexes"][TreesCorpus.name]
    return store


def keep_days(app: Flask | None = None) -> int:
    """How long the change log keeps a change (days)."""
    return int((app or current_app).config.get("SEARCH_CHANGES_KEEP_DAYS", KEEP_DAYS))


def _corpus(store: IndexStore) -> Corpus:
    assert store.corpus is not None, "an index the writer keeps has a corpus"
    return store.corpus


def document_total(factory: sessionmaker[Session], store: IndexStore) -> int:
    """How many documents a rebuild writes (for a progress bar)."""
    with factory() as session:
        return _corpus(store).count(session)


def rebuild(
    factory: sessionmaker[Session],
    store: IndexStore,
    *,
    progress: Progress | None = None,
    processes: int = 1,
    timeout: float = 600.0,
) -> IndexMeta:
    """Build the whole index into a new generation and make it live when complete."""
    with store.writing(timeout=timeout):
        meta = _rebuild_locked(factory, store, progress=progress, processes=processes)
        _apply_log(factory, store)
        return store.meta() or meta


def _rebuild_locked(
    factory: sessionmaker[Session],
    store: IndexStore,
    *,
    progress: Progress | None,
    processes: int,
) -> IndexMeta:
    corpus = _corpus(store)
    with factory() as session:
        # The log's end first, then the data: every change up to it committed before the
        # documents are read, so the rebuild holds it; a change committed later has a higher id
        # and is applied by the next pass (perhaps once more than needed, which is harmless).
        change_id = search_queue.high_water(session)
        release_id, release_label = corpus.source(session)
        generation = store.new_generation()
    try:
        write_generation(factory, store, generation, processes=processes, progress=progress)
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)  # never live: nobody reads it
        raise
    meta = store.record(
        generation, release_id=release_id, release_label=release_label, change_id=change_id
    )
    store.publish(generation)
    return meta


@dataclass
class SyncReport:
    applied: int = 0
    rebuilt: bool = False
    release: str | None = None
    reason: str | None = None  # why it was rebuilt


def sync(
    factory: sessionmaker[Session],
    store: IndexStore,
    *,
    timeout: float = 600.0,
    progress: Progress | None = None,
    rebuild_above: int = REBUILD_ABOVE,
) -> SyncReport:
    """Apply the changes logged since this index's cursor; rebuild instead when it cannot
    follow the log (see the module's description) or the list is long.

    :raises WriterBusy: when another writer on this machine holds the lock past ``timeout``;
        the changes wait in the log for the next pass.
    """
    report = SyncReport()
    with store.writing(timeout=timeout):
        with factory() as session:
            report.reason = _rebuild_reason(session, store, rebuild_above=rebuild_above)
        if report.reason is not None:
            _rebuild_locked(factory, store, progress=progress, processes=1)
            report.rebuilt = True
        try:
            report.applied = _apply_log(factory, store)
        except _Pruned:
            report.reason = "changes it had not applied were pruned meanwhile"
            _rebuild_locked(factory, store, progress=progress, processes=1)
            report.rebuilt = True
            report.applied = _apply_log(factory, store)
        meta = store.meta()
        report.release = meta.release_label if meta else None
    return report


def sync_after_request(
    factory: sessionmaker[Session], store: IndexStore, *, timeout: float = 30.0
) -> SyncReport | None:
    """Apply a web request's logged changes to this node's index before answering, when that
    is quick; None when it is left to the index worker (a long list, an index to rebuild, a
    busy writer). The other nodes' workers pick the changes up from the log."""
    try:
        with factory() as session:
            if search_queue.count_after(session, store.name, after=_cursor(store)) > BATCH:
                return None
            small = _corpus(store).count(session) <= BATCH
        if not small and not _readable(store):
            return None  # a big rebuild is the worker's (or `search sync`'s) job
        return sync(factory, store, timeout=timeout)
    except WriterBusy:
        return None
    except Exception:  # the data is committed; the index can catch up later
        current_app.logger.exception("search index update after a request failed")
        return None


def _readable(store: IndexStore) -> bool:
    try:
        store.searcher()
    except IndexUnavailable:
        return False
    return True


def _cursor(store: IndexStore) -> int:
    meta = store.meta()
    return meta.change_id if meta else 0


def _rebuild_reason(session: Session, store: IndexStore, *, rebuild_above: int) -> str | None:
    """Why this index cannot simply apply the log's new changes, or None when it can."""
    if not _readable(store):
        return "missing or unreadable"
    meta = store.meta()
    assert meta is not None, "a readable index has its meta"
    end = search_queue.high_water(session)
    if meta.change_id > end:
        return "it is ahead of the database's change log (another or a restored database)"
    if meta.change_id < search_queue.pruned_through(session):
        return "changes it had not applied were pruned from the log"
    release_id, release_label = _corpus(store).source(session)
    if meta.release_id is not None and (
        release_id is None
        or meta.release_id > release_id
        or (meta.release_id == release_id and meta.release_label != release_label)
    ):
        return f"it reflects release {meta.release_label}, which this database does not have"
    if search_queue.count_after(session, store.name, after=meta.change_id) > rebuild_above:
        return "many changes to apply"
    return None


def _apply(store: IndexStore, generation: Path, found: Mapping[str, Any]) -> None:
    writer = store.writer(generation)
    try:
        search_index.apply_documents(writer, found)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise


class _Pruned(Exception):
    """The log was cut above this index's cursor while it was being read."""


def _apply_log(factory: sessionmaker[Session], store: IndexStore) -> int:
    """Apply the logged changes after the index's cursor in batches, moving the cursor after
    each (the caller holds the writer's lock); returns how many documents were re-indexed."""
    corpus = _corpus(store)
    applied = 0
    live = store.live_dir()
    assert live is not None
    while True:
        meta = store.meta()
        cursor = meta.change_id if meta else 0
        with factory() as session:
            # The source before the log's end: a release read here has its changes at or
            # below the end read next (they commit together), so once they are applied the
            # index reflects it.
            release_id, release_label = corpus.source(session)
            end = search_queue.high_water(session)
            rows = search_queue.changes_after(
                session, store.name, after=cursor, upto=end, limit=BATCH
            )
            # Read after the rows: a prune by another node since this pass began would have
            # taken changes this index never saw. Rebuilding is then the only way to be whole.
            if search_queue.pruned_through(session) > cursor:
                raise _Pruned
            if rows:
                found = corpus.documents_for(session, {doc for _id, doc in rows})
                _apply(store, live, found)
                applied += len(found)
        done = len(rows) < BATCH
        if done:
            # Ids follow commit order (search_queue), so no change at or below ``end`` can
            # still appear: the cursor moves to the end, past the other indexes' changes too.
            position = max(cursor, end)
        else:
            position = rows[-1][0]
            # Not all of the release's changes are applied yet: it keeps the one it had.
            release_id, release_label = (
                (meta.release_id, meta.release_label) if meta else (None, None)
            )
        if meta is None or position != cursor or meta.release_id != release_id:
            store.record(
                live, release_id=release_id, release_label=release_label, change_id=position
            )
        if done:
            return applied


def prune(factory: sessionmaker[Session], *, days: int) -> int:
    """Forget logged changes older than ``days``; returns how many (any node may do it)."""
    with factory.begin() as session:
        return search_queue.prune(session, before=utcnow() - timedelta(days=days))


@dataclass(frozen=True)
class Health:
    status: str  # "ok", "behind", "missing"
    release: str | None
    latest_release: str | None
    pending: int
    message: str


def health(session: Session, store: IndexStore) -> Health:
    """Whether this node's index reflects its source (the newest release) with every logged
    change applied."""
    release_id, latest_label = _corpus(store).source(session)
    meta = store.meta()
    cursor = meta.change_id if meta else 0
    try:
        waiting = search_queue.count_after(session, store.name, after=cursor)
        expected = _corpus(store).count(session) if release_id is None else 1
        missed = meta is not None and cursor < search_queue.pruned_through(session)
    except SQLAlchemyError:
        waiting, expected, missed = 0, 1, False
    if not expected and not waiting:
        return Health("ok", None, None, 0, "nothing to index yet")
    if not _readable(store):
        return Health("missing", None, latest_label, waiting, "no readable index")
    indexed = meta.release_label if meta else None
    if missed:
        message = "changes this index had not applied were pruned: the next pass rebuilds it"
        return Health("behind", indexed, latest_label, waiting, message)
    if indexed != latest_label or waiting:
        message = f"index reflects {indexed or 'no release'}; newest is {latest_label}"
        if waiting:
            message += f"; {waiting:,} change(s) queued"
        return Health("behind", indexed, latest_label, waiting, message)
    source = f" (release {indexed})" if indexed else ""
    return Health("ok", indexed, latest_label, 0, f"up to date{source}")


def check(factory: sessionmaker[Session], store: IndexStore) -> Drift:
    """Compare the index with the database, document by document."""
    corpus = _corpus(store)
    with factory() as session:
        _release_id, label = corpus.source(session)
        meta = store.meta()
        return compare(
            store.searcher(),
            corpus.documents(session),
            index_release=meta.release_label if meta else None,
            database_release=label,
        )


def repair(factory: sessionmaker[Session], store: IndexStore, drift: Drift) -> SyncReport:
    """Bring the index up to date with the log, then re-index every document that differs.

    Drift is a matter of this node's disk: the documents are re-indexed here only, not logged
    for every node.
    """
    report = sync(factory, store)
    with store.writing(), factory() as session:
        live = store.live_dir()
        assert live is not None, "sync leaves a live index"
        found = _corpus(store).documents_for(session, drift.differing)
        _apply(store, live, found)
    report.applied += len(found)
    return report


def follow_catalogue_and_trees() -> None:
    """After a commit that changed the catalogue and a tree together (a bulletin carrying its
    change): apply both to this node's indexes now when that is quick, else the worker does."""
    sync_after_request(session_factory(), parts_index())
    sync_after_request(session_factory(), trees_index())
