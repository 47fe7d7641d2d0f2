"""Whoosh indexes on disk: built whole into a new generation, written by one process at a time,
read through searchers that notice new data.

Each index lives in ``<root>/<name>/``: a ``CURRENT`` file names the live generation (a
subdirectory holding a Whoosh index and a ``meta.json`` saying which release it reflects), and
``writer.lock`` is held by whoever writes. A rebuild fills a fresh generation and swaps
``CURRENT`` only when it is complete, so readers never see a half-built index. Whoosh lets one
writer in at a time and a process that finds it busy gives up, losing its update; here writers
wait for ``writer.lock`` instead, and what they apply comes from a log in the database that
survives any of them failing. The store is one machine's: each node of a cluster keeps its own,
following the database's log from the position its ``meta.json`` records.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.fields import Schema
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from parts_catalog.errors import CatalogError

META_FILE = "meta.json"
POINTER_FILE = "CURRENT"
LOCK_FILE = "writer.lock"


class IndexUnavailable(CatalogError):
    """The index is missing or cannot be read; the message says what to run."""


class WriterBusy(CatalogError):
    """Another process kept the index writer for longer than we were prepared to wait."""


@dataclass(frozen=True)
class IndexMeta:
    """What an index generation reflects."""

    release_id: int | None
    release_label: str | None
    documents: int
    built_at: str
    updated_at: str
    schema_version: int = 0
    # The last entry of the database's change log (``search_queue``) applied: every change up to
    # it is in the index. Missing in an index written before the log: its changes were deleted
    # once applied, so all that is left in the log is still to apply.
    change_id: int = 0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class IndexStore:
    """One named Whoosh index under ``root``; safe to share between threads of a process."""

    def __init__(
        self,
        root: Path,
        name: str,
        schema: Schema,
        *,
        version: int = 1,
        corpus: Corpus | None = None,
    ) -> None:
        """``version`` names the schema: an index written under another is rebuilt, not read.
        ``corpus`` says what the index holds, for the writer."""
        self.home = root / name
        self.name = name
        self.schema = schema
        self.version = version
        self.corpus = corpus
        self._local = threading.local()

    @classmethod
    def of(cls, root: Path, corpus: Corpus) -> IndexStore:
        return cls(root, corpus.name, corpus.schema, version=corpus.version, corpus=corpus)

    # --- reading ---------------------------------------------------------------------------------

    def live_dir(self) -> Path | None:
        """The live generation's directory, or None when none was ever completed."""
        try:
            generation = (self.home / POINTER_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        path = self.home / generation
        return path if generation and path.is_dir() else None

    def meta(self) -> IndexMeta | None:
        live = self.live_dir()
        if live is None:
            return None
        try:
            data = json.loads((live / META_FILE).read_text(encoding="utf-8"))
            return IndexMeta(**data)
        except (OSError, ValueError, TypeError):
            return None

    def searcher(self) -> Searcher:
        """A searcher on the newest data, kept open between calls (opening one per query costs
        tens of milliseconds) and refreshed when a writer has committed or a rebuild swapped in.

        Searchers are per thread: Whoosh's file readers seek and read, which threads must not
        share.

        :raises IndexUnavailable: when there is no readable index.
        """
        live = self.live_dir()
        if live is None:
            self.close()
            raise IndexUnavailable(
                f"The {self.name} search index has not been built: "
                "run `flask --app wsgi search reindex`."
            )
        cached: tuple[Path, Searcher] | None = getattr(self._local, "cached", None)
        try:
            if cached is not None and cached[0] == live and cached[1].up_to_date():
                searcher = cached[1]
            else:
                # Not Searcher.refresh(): it reuses segment readers whose deletions are stale.
                self.close()
                meta = self.meta()
                if meta is None or meta.schema_version != self.version:
                    raise IndexUnavailable(
                        f"The {self.name} search index was built by another version of "
                        "Benchside: run `flask --app wsgi search reindex`."
                    )
                searcher = whoosh_index.open_dir(str(live), schema=self.schema).searcher()
        except IndexUnavailable:
            raise
        except Exception as exc:  # Whoosh reports damage as many different errors
            self.close()
            raise IndexUnavailable(
                f"The {self.name} search index cannot be read ({type(exc).__name__}): "
                "run `flask --app wsgi search reindex`."
            ) from exc
        self._local.cached = (live, searcher)
        return searcher

    def close(self) -> None:
        """Close this thread's searcher (a later call opens a new one)."""
        cached: tuple[Path, Searcher] | None = getattr(self._local, "cached", None)
        self._local.cached = None
        if cached is not None:
            with contextlib.suppress(Exception):
                cached[1].close()

    # --- writing ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self, *, timeout: float = 600.0) -> Iterator[None]:
        """Hold the one writer's lock (across processes) for the block.

        :raises WriterBusy: when it is not free within ``timeout`` seconds.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / LOCK_FILE, "a+b") as lock:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise WriterBusy(
                            f"The {self.name} index writer stayed busy for {timeout:.0f} s; "
                            "the changes stay queued for the next writer."
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def new_generation(self) -> Path:
        """An empty index in a fresh directory, not yet live (call under ``writing``)."""
        self.home.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.home / f"gen-{stamp}"
        path.mkdir()
        whoosh_index.create_in(str(path), self.schema)
        return path

    def writer(self, generation: Path, **options: Any) -> IndexWriter:
        """Whoosh's writer for ``generation``; the caller holds ``writing``."""
        return whoosh_index.open_dir(str(generation), schema=self.schema).writer(**options)

    def document_count(self, generation: Path) -> int:
        ix = whoosh_index.open_dir(str(generation), schema=self.schema)
        count: int = ix.doc_count()
        return count

    def record(
        self,
        generation: Path,
        *,
        release_id: int | None,
        release_label: str | None,
        change_id: int | None = None,
    ) -> IndexMeta:
        """Write which release ``generation`` reflects and the last change applied to it (after
        its writer committed); ``change_id=None`` keeps the one recorded."""
        previous = self.meta() if self.live_dir() == generation else None
        if change_id is None:
            change_id = previous.change_id if previous else 0
        meta = IndexMeta(
            release_id=release_id,
            release_label=release_label,
            documents=self.document_count(generation),
            built_at=previous.built_at if previous else _now(),
            updated_at=_now(),
            schema_version=self.version,
            change_id=change_id,
        )
        _write_atomically(generation / META_FILE, json.dumps(asdict(meta), indent=2))
        return meta

    def publish(self, generation: Path) -> None:
        """Make ``generation`` the live one, and remove all but it and the one it replaces
        (a reader in another process may still be finishing a query there)."""
        previous = self.live_dir()
        _write_atomically(self.home / POINTER_FILE, generation.name + "\n")
        keep = {generation, previous}
        for path in self.home.glob("gen-*"):
            if path not in keep:
                shutil.rmtree(path, ignore_errors=True)


class Corpus(Protocol):
    """What one index holds, read from the database by the index writer."""

    name: str
    schema: Schema
    version: int

    def source(self, session: Session) -> tuple[int | None, str | None]:
        """The release (id, label) the documents come from, or (None, None)."""

    def count(self, session: Session) -> int:
        """How many documents a rebuild writes."""

    def documents(self, session: Session) -> Iterator[dict[str, Any]]:
        """Every document, each with ``doc_id`` and a ``stamp`` digest."""

    def documents_for(self, session: Session, doc_ids: Iterable[str]) -> dict[str, Any]:
        """The named documents; ``None`` for one to delete."""


@dataclass
class Drift:
    """How an index differs from the database."""

    index_release: str | None
    database_release: str | None
    indexed: int
    expected: int
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def differing(self) -> list[str]:
        return [*self.missing, *self.extra, *self.stale]

    @property
    def clean(self) -> bool:
        return not self.differing and self.index_release == self.database_release


def compare(
    searcher: Searcher,
    expected: Iterable[dict[str, Any]],
    *,
    index_release: str | None,
    database_release: str | None,
) -> Drift:
    """Compare every document an index holds with the documents it should hold."""
    held = {fields["doc_id"]: fields.get("stamp") for fields in searcher.all_stored_fields()}
    drift = Drift(index_release, database_release, indexed=len(held), expected=0)
    for doc in expected:
        drift.expected += 1
        stamp = held.pop(doc["doc_id"], None)
        if stamp is None:
            drift.missing.append(doc["doc_id"])
        elif stamp != doc["stamp"]:
            drift.stale.append(doc["doc_id"])
    drift.extra = sorted(held)
    return drift


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
