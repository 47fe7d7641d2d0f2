"""Keeping the search indexes true to the database: rebuild, apply queued changes, check.

Every function here writes through ``IndexStore.writing``, an index's one writer's lock, and
reads what to write from the database through the index's corpus: the queue
(``search_pending``) is filled in the transactions that change the data and emptied here, by
id, only after the index has committed. A writer that dies midway leaves its changes queued;
applying a change twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

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
)

# Past this many queued changes a rebuild is quicker than applying them one by one.
REBUILD_ABOVE = 50_000
BATCH = 5_000

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


def _corpus(store: IndexStore) -> Corpus:
    assert store.corpus is not None, "an index the writer keeps has a corpus"
    return store.corpus


def _counted(docs: Iterable[dict[str, Any]], progress: Progress | None) -> Iterator[dict[str, Any]]:
    for n, doc in enumerate(docs, start=1):
        if progress is not None and n % 1_000 == 0:
            progress(1_000)
        yield doc


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
        _apply_queue(factory, store)
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
        # The source first, then the queue: a release committed in between has its changes
        # queued (same transaction), so they stay queued for the next pass, not dropped.
        release_id, release_label = corpus.source(session)
        queued = [row_id for row_id, _doc in search_queue.pending(session, store.name, limit=10**8)]
        generation = store.new_generation()
        options: dict[str, Any] = {"limitmb": 256}
        if processes > 1:
            options |= {"procs": processes, "multisegment": True}
        writer = store.writer(generation, **options)
        try:
            search_index.write_documents(
                writer, _counted(corpus.documents(session), progress), fresh=True
            )
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        meta = store.record(generation, release_id=release_id, release_label=release_label)
        store.publish(generation)
        search_queue.clear(session, queued)
        session.commit()
        return meta


@dataclass
class SyncReport:
    applied: int = 0
    rebuilt: bool = False
    release: str | None = None


def sync(
    factory: sessionmaker[Session],
    store: IndexStore,
    *,
    timeout: float = 600.0,
    progress: Progress | None = None,
    rebuild_above: int = REBUILD_ABOVE,
) -> SyncReport:
    """Apply what is queued; rebuild instead when the index is missing, unreadable, or the
    queue is long (a first release of a million parts).

    :raises WriterBusy: when another writer holds the lock past ``timeout``; the changes stay
        queued.
    """
    report = SyncReport()
    with store.writing(timeout=timeout):
        with factory() as session:
            waiting = search_queue.pending_count(session, store.name)
        if not _readable(store) or waiting > rebuild_above:
            _rebuild_locked(factory, store, progress=progress, processes=1)
            report.rebuilt = True
        report.applied = _apply_queue(factory, store)
        meta = store.meta()
        report.release = meta.release_label if meta else None
    return report


def sync_after_request(
    factory: sessionmaker[Session], store: IndexStore, *, timeout: float = 30.0
) -> SyncReport | None:
    """Apply a web request's queued changes before answering, when that is quick; None when
    it is left to the index worker (a long queue, an index to rebuild, a busy writer)."""
    with factory() as session:
        if search_queue.pending_count(session, store.name) > BATCH:
            return None
        small = _corpus(store).count(session) <= BATCH
    if not small and not _readable(store):
        return None  # a big rebuild is the worker's (or `search sync`'s) job, not a request's
    try:
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


def _apply_queue(factory: sessionmaker[Session], store: IndexStore) -> int:
    """Apply queued changes in batches (the caller holds the writer's lock)."""
    corpus = _corpus(store)
    applied = 0
    live = store.live_dir()
    assert live is not None
    while True:
        with factory() as session:
            release_id, release_label = corpus.source(session)  # before the queue
            rows = search_queue.pending(session, store.name, limit=BATCH)
            if rows:
                found = corpus.documents_for(session, {doc for _id, doc in rows})
                writer = store.writer(live)
                try:
                    search_index.apply_documents(writer, found)
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
                applied += len(found)
            meta = store.meta()
            if meta is None or meta.release_id != release_id or rows:
                store.record(live, release_id=release_id, release_label=release_label)
            search_queue.clear(session, [row_id for row_id, _doc in rows])
            session.commit()
        if len(rows) < BATCH:
            return applied


@dataclass(frozen=True)
class Health:
    status: str  # "ok", "behind", "missing"
    release: str | None
    latest_release: str | None
    pending: int
    message: str


def health(session: Session, store: IndexStore) -> Health:
    """Whether the index reflects its source (the newest release) with nothing queued."""
    release_id, latest_label = _corpus(store).source(session)
    try:
        waiting = search_queue.pending_count(session, store.name)
        expected = _corpus(store).count(session) if release_id is None else 1
    except SQLAlchemyError:
        waiting, expected = 0, 1
    if not expected and not waiting:
        return Health("ok", None, None, 0, "nothing to index yet")
    if not _readable(store):
        return Health("missing", None, latest_label, waiting, "no readable index")
    meta = store.meta()
    indexed = meta.release_label if meta else None
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
    """Queue every document that differs and apply the queue."""
    with factory() as session:
        search_queue.enqueue(session, store.name, drift.differing)
        session.commit()
    return sync(factory, store)
