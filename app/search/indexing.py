"""Keeping the search index true to the database: rebuild, apply queued changes, check.

Every function here writes through ``IndexStore.writing``, the one writer's lock, and reads what
to write from the database: the queue (``search_pending``) is filled in the transactions that
change the catalogue and emptied here, by id, only after the index has committed. A writer that
dies midway leaves its changes queued; applying a change twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from parts_catalog import search_index
from parts_catalog.indexes import IndexMeta, IndexStore, IndexUnavailable, WriterBusy
from parts_catalog.models import ModelVersion, PartVersion, Release
from parts_catalog.services import latest_release

# Past this many queued changes a rebuild is quicker than applying them one by one.
REBUILD_ABOVE = 50_000
BATCH = 5_000

Progress = Callable[[int], None]


def init_app(app: Flask) -> None:
    root = app.config["SEARCH_INDEX_DIR"]
    app.extensions["search_indexes"] = {
        search_index.INDEX_NAME: IndexStore(
            root,
            search_index.INDEX_NAME,
            search_index.SCHEMA,
            version=search_index.SCHEMA_VERSION,
        )
    }


def parts_index(app: Flask | None = None) -> IndexStore:
    store: IndexStore = (app or current_app).extensions["search_indexes"][search_index.INDEX_NAME]
    return store


def _counted(docs: Iterable[dict[str, Any]], progress: Progress | None) -> Iterator[dict[str, Any]]:
    for n, doc in enumerate(docs, start=1):
        if progress is not None and n % 1_000 == 0:
            progress(1_000)
        yield doc


def document_total(session: Session, release: Release | None) -> int:
    """How many documents a rebuild writes (for a progress bar)."""
    if release is None:
        return 0
    parts = session.scalar(select(func.count()).where(PartVersion.as_of(release.id))) or 0
    models = session.scalar(select(func.count()).where(ModelVersion.as_of(release.id))) or 0
    return parts + models


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
    with factory() as session:
        # The release first, then the queue: a release committed in between has its changes
        # queued (same transaction), so they stay queued for the next pass, not dropped.
        release = latest_release(session)
        queued = [row_id for row_id, _doc in search_index.pending(session, limit=10_000_000)]
        generation = store.new_generation()
        options: dict[str, Any] = {"limitmb": 256}
        if processes > 1:
            options |= {"procs": processes, "multisegment": True}
        writer = store.writer(generation, **options)
        try:
            if release is not None:
                search_index.write_documents(
                    writer, _counted(search_index.documents(session, release), progress), fresh=True
                )
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        meta = store.record(
            generation,
            release_id=release.id if release else None,
            release_label=release.label if release else None,
        )
        store.publish(generation)
        search_index.clear_pending(session, queued)
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
            waiting = search_index.pending_count(session)
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
    it is left to the index worker (a long queue, or a busy writer)."""
    with factory() as session:
        if search_index.pending_count(session) > REBUILD_ABOVE:
            return None
    try:
        return sync(factory, store, timeout=timeout)
    except WriterBusy:
        return None


def _readable(store: IndexStore) -> bool:
    try:
        store.searcher()
    except IndexUnavailable:
        return False
    return True


def _apply_queue(factory: sessionmaker[Session], store: IndexStore) -> int:
    """Apply queued changes in batches (the caller holds the writer's lock)."""
    applied = 0
    live = store.live_dir()
    assert live is not None
    while True:
        with factory() as session:
            release = latest_release(session)  # before the queue: see _rebuild_locked
            rows = search_index.pending(session, limit=BATCH)
            if rows and release is not None:
                found = search_index.documents_for(session, release, {doc for _id, doc in rows})
                writer = store.writer(live)
                try:
                    search_index.apply_documents(writer, found)
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
                applied += len(found)
            meta = store.meta()
            if release is not None and (meta is None or meta.release_id != release.id or rows):
                store.record(live, release_id=release.id, release_label=release.label)
            search_index.clear_pending(session, [row_id for row_id, _doc in rows])
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
    """Whether the index reflects the newest release with nothing left queued."""
    latest = latest_release(session)
    latest_label = latest.label if latest else None
    try:
        waiting = search_index.pending_count(session)
    except SQLAlchemyError:
        waiting = 0
    if latest is None and not waiting:
        return Health("ok", None, None, 0, "nothing to index: no release has been imported")
    if not _readable(store):
        return Health("missing", None, latest_label, waiting, "no readable index")
    meta = store.meta()
    indexed = meta.release_label if meta else None
    if indexed != latest_label or waiting:
        message = f"index reflects {indexed or 'no release'}; newest is {latest_label}"
        if waiting:
            message += f"; {waiting:,} change(s) queued"
        return Health("behind", indexed, latest_label, waiting, message)
    return Health("ok", indexed, latest_label, 0, f"reflects release {indexed}")


def check(factory: sessionmaker[Session], store: IndexStore) -> search_index.Drift | None:
    """Compare the index with the database; None when there is no release to compare with."""
    with factory() as session:
        release = latest_release(session)
        if release is None:
            return None
        meta = store.meta()
        return search_index.compare(
            session,
            store.searcher(),
            release,
            index_release=meta.release_label if meta else None,
        )


def repair(
    factory: sessionmaker[Session], store: IndexStore, drift: search_index.Drift
) -> SyncReport:
    """Queue every document that differs and apply the queue."""
    with factory() as session:
        search_index.queue_documents(session, drift.differing)
        session.commit()
    return sync(factory, store)
