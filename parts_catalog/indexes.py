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

A rebuild writes its generation's segments itself (``write_segment``), one per process
(``write_generation``), rather than through Whoosh's writer, which serves the small updates.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import struct
import threading
import time
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from pickle import dumps  # nosec B403 -- Whoosh's segments hold pickles; written here, never loaded
from typing import Any, Protocol, cast, runtime_checkable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from whoosh import columns, formats
from whoosh import index as whoosh_index
from whoosh.analysis import (
    CompositeAnalyzer,
    IDTokenizer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    StripFilter,
)
from whoosh.analysis.tokenizers import default_pattern
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC as _W3_MAGIC
from whoosh.fields import Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import _lengths as _ROW_LENGTHS
from whoosh.filedb.filetables import md5_hash
from whoosh.searching import Searcher
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import IndexWriter

from parts_catalog.errors import CatalogError

log = logging.getLogger(__name__)

META_FILE = "meta.json"
POINTER_FILE = "CURRENT"
LOCK_FILE = "writer.lock"


class IndexUnavailable(CatalogError):
    """The index is missing or cannot be read; the message says what to run."""


class IndexingFailed(CatalogError):
    """A process writing part of an index failed; the live index is left as it was."""


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
        self._pointer = str(self.home / POINTER_FILE)
        self._generations: dict[str, Path] = {}  # a generation's name -> its directory

    @classmethod
    def of(cls, root: Path, corpus: Corpus) -> IndexStore:
        return cls(root, corpus.name, corpus.schema, version=corpus.version, corpus=corpus)

    # --- reading ---------------------------------------------------------------------------------

    def live_dir(self) -> Path | None:
        """The live generation's directory, or None when none was ever completed."""
        # Read on every search (twice: parts and trees), so by the file's descriptor: opening
        # it as a Path and decoding it as text took a tenth of a word search's time.
        try:
            fd = os.open(self._pointer, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            generation = os.read(fd, 1024).decode("utf-8").strip()
        finally:
            os.close(fd)
        path = self._generations.get(generation)
        if path is None:
            if len(self._generations) > 16:
                self._generations.clear()
            path = self._generations[generation] = self.home / generation
        return path if generation and os.path.isdir(path) else None

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

    def commit_segments(self, generation: Path, segments: Sequence[Any]) -> None:
        """List ``segments`` (from ``write_segment``, in document order) as the contents of the
        empty index ``generation``; call under ``writing``, before ``record``."""
        storage = FileStorage(str(generation))
        ix = storage.open_index(schema=self.schema)
        toc = whoosh_index.TOC(self.schema, list(segments), ix.latest_generation() + 1)
        toc.write(storage, whoosh_index._DEF_INDEX_NAME)
        whoosh_index.clean_files(storage, whoosh_index._DEF_INDEX_NAME, toc.generation, segments)
        # The segment writers' scratch directory, empty by now (Whoosh's writer removes it too).
        shutil.rmtree(generation / f"{whoosh_index._DEF_INDEX_NAME}.tmp", ignore_errors=True)

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


@runtime_checkable
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


@runtime_checkable
class ShardedCorpus(Corpus, Protocol):
    """A corpus whose rebuild can be shared between processes."""

    def shards(self, session: Session, count: int) -> list[Any]:
        """Up to ``count`` picklable shares of ``documents`` (all of them together, in order),
        pinned to what ``source`` says now; none when there is nothing to index."""

    def shard_documents(self, session: Session, shard: Any) -> Iterator[dict[str, Any]]:
        """The documents of one share."""


def write_generation(
    factory: sessionmaker[Session],
    store: IndexStore,
    generation: Path,
    *,
    processes: int = 1,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Fill the empty index ``generation`` with every document of ``store``'s corpus, as one
    segment per process (``processes`` > 1 needs a ``ShardedCorpus``; it forks, so call it
    from a command, not from a threaded server). The caller holds ``writing``.

    Each process reads its own share from the database and writes its segment; the segments
    are listed together at the end and never merged (Whoosh merges by re-sorting every posting,
    which costs about what writing them did), so searches read ``processes`` segments.
    """
    corpus = store.corpus
    assert corpus is not None, "an index the writer fills has a corpus"
    started = time.perf_counter()
    with factory() as session:
        # A child process opens its own connections from an engine; a session bound to one
        # connection (a test's transaction) cannot be shared with another process.
        forkable = isinstance(factory.kw.get("bind"), Engine)
        if processes > 1 and forkable and isinstance(corpus, ShardedCorpus):
            shares: list[Any] = corpus.shards(session, processes)
        else:
            shares = [None]
    log.info("%d share(s) chosen in %.1f s", len(shares), time.perf_counter() - started)
    if len(shares) <= 1:
        with factory() as session:
            docs = (
                corpus.shard_documents(session, shares[0])
                if shares and shares[0] is not None and isinstance(corpus, ShardedCorpus)
                else corpus.documents(session)
            )
            segment = write_segment(generation, store.schema, docs, progress=progress)
        store.commit_segments(generation, [segment])
        return
    assert isinstance(corpus, ShardedCorpus)
    done = multiprocessing.get_context("fork").Value("q", 0)  # documents written, all processes
    parent = os.getpid()
    reported = 0

    def report(n: int) -> None:
        nonlocal reported
        with done.get_lock():
            done.value += n
            total = done.value
        # Only the parent reports (the callback may draw a progress bar on its terminal).
        if progress is not None and os.getpid() == parent and total > reported:
            progress(total - reported)
            reported = total

    def write_share(share: Any) -> Any:
        with factory() as session:
            segment = write_segment(
                generation,
                store.schema,
                corpus.shard_documents(session, share),
                progress=report,
            )
        log.info("share %s done at %.1f s", share, time.perf_counter() - started)
        return segment

    children = [_Child.start(factory, write_share, share) for share in shares[1:]]
    try:
        segments = [write_share(shares[0])]
        for child in children:
            segments.append(child.result(lambda: report(0)))
        report(0)
    finally:
        for child in children:
            child.stop()
    store.commit_segments(generation, segments)
    log.info("segments listed at %.1f s", time.perf_counter() - started)


class _Child:
    """A forked process computing one value, sent back through a pipe."""

    def __init__(self, process: BaseProcess, pipe: Connection) -> None:
        self.process = process
        self.pipe = pipe

    @classmethod
    def start(cls, factory: sessionmaker[Session], work: Callable[[Any], Any], arg: Any) -> _Child:
        context = multiprocessing.get_context("fork")
        receiving, sending = context.Pipe(duplex=False)

        def run() -> None:
            # The parent's pooled connections are the parent's: the child opens its own.
            bind = factory.kw.get("bind")
            if isinstance(bind, Engine):
                bind.dispose(close=False)
            try:
                sending.send((True, work(arg)))
            except BaseException as exc:
                sending.send((False, f"{type(exc).__name__}: {exc}"))

        process = context.Process(target=run, daemon=True)
        process.start()
        sending.close()
        return cls(process, receiving)

    def result(self, waiting: Callable[[], None]) -> Any:
        """The child's value, calling ``waiting`` now and then until it comes."""
        while not self.pipe.poll(0.2):
            waiting()
            if not self.process.is_alive() and not self.pipe.poll(0):
                raise IndexingFailed(f"an index writer process ended ({self.process.exitcode})")
        ok, value = self.pipe.recv()
        if not ok:
            raise IndexingFailed(f"an index writer process failed: {value}")
        return value

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.pipe.close()


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


# --- building a segment ---------------------------------------------------------------------------


# The analysis of a field's value is kept for values seen again (descriptions, product lines,
# statuses); a field whose values are all different (numbers) clears it this often.
_ANALYSED_KEPT = 20_000
# And of a word: the words of where a part fits include every model's name and number (50,000
# at a million parts), which a smaller list forgot before they came round again.
_WORDS_KEPT = 200_000


def write_segment(
    generation: Path,
    schema: Schema,
    docs: Iterable[Mapping[str, Any]],
    *,
    progress: Callable[[int], None] | None = None,
) -> Any:
    """Write ``docs`` as one new segment of the (empty) index in ``generation`` and return it,
    for ``IndexStore.commit_segments``; several processes may each write one at once.

    The segment holds what Whoosh's own writer would write for the same documents (stored
    fields, lengths, postings), with a spelling word listed once rather than once per document.
    Whoosh's writer spends most of a rebuild on generic work this bulk load does not need:
    sizing each posting, pickling sorted runs to disk and merging them back, and looking for a
    length file on disk once per posting of a field that has none. Here postings are gathered
    in memory by term, an analysed value is reused, and lengths are read from memory. Field
    and document boosts given in a document (``_boost`` keys) are not supported.
    """
    with _without_cycle_collection():
        return _write_segment(generation, schema, docs, progress=progress)


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused: a segment's postings are millions of small objects
    that each of its full passes walks again (a seventh of a build's time), and they hold no
    cycles to collect."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write_segment(
    generation: Path,
    schema: Schema,
    docs: Iterable[Mapping[str, Any]],
    *,
    progress: Callable[[int], None] | None,
) -> Any:
    clock = _Clock()
    storage = FileStorage(str(generation))
    # Blocks of postings uncompressed: most terms (numbers, document ids) have one posting,
    # which zlib makes no smaller, and compressing the rest saves a tenth of the index's size
    # for a third of the time spent writing postings (and some on every search).
    codec = W3Codec(compression=0)
    segment = codec.new_segment(storage, whoosh_index._DEF_INDEX_NAME)
    perdoc = codec.per_document_writer(storage, segment)
    # field -> term -> (document numbers, (weight, value bytes) of each)
    postings: dict[str, dict[bytes, _Postings]] = {}
    lengths: dict[str, bytearray] = {}  # scorable field -> each document's length byte
    plans: dict[str, _FieldPlan] = {}
    docnum = 0
    docs = clock.timed_iter("read", docs)
    # Stored fields and lengths as Whoosh's per-document writer keeps them, without its calls
    # per field: a document's stored fields go to its column whole, and each field's lengths
    # (kept by its plan) are written as a column at the end.
    stored_column = perdoc._get_column("_stored")._child  # CompressedBytesColumn's writer
    assert isinstance(stored_column, columns.VarBytesColumn.Writer)
    # The fields to index of a document with these keys, in name order, and their plans:
    # documents of a corpus mostly have the same keys.
    steps_for: dict[tuple[str, ...], list[tuple[str, _FieldPlan]]] = {}
    try:
        for doc in docs:
            perdoc._docnum = docnum  # for a field kept in a column (none here)
            stored: dict[str, Any] = {}
            keys = tuple(doc)
            steps = steps_for.get(keys)
            if steps is None:
                steps = steps_for[keys] = []
                for name in sorted(keys):
                    if name.startswith("_"):
                        continue
                    plan = plans.get(name)
                    if plan is None:
                        plan = plans[name] = _FieldPlan(name, schema[name], postings, lengths)
                    steps.append((name, plan))
            for name, plan in steps:
                value = doc[name]
                if value is None:
                    continue
                if plan.indexed:
                    plan.add(docnum, value)
                if plan.stored:
                    stored[name] = value
                if plan.column_type:
                    perdoc.add_column_value(
                        name, plan.column_type, plan.field.to_column_value(value)
                    )
            if stored:
                columns.VarBytesColumn.Writer.add(stored_column, docnum, _compressed(stored))
            docnum += 1
            if progress is not None and docnum % 1_000 == 0:
                progress(1_000)
        perdoc._doccount = docnum
        for name, plan in sorted(plans.items(), key=lambda item: item[1].first_length):
            if plan.lengths is not None and plan.total_length:
                _write_lengths(perdoc, name, plan.lengths)
                perdoc._fieldlengths[name] += plan.total_length
        perdoc.close()
        clock.lap("index")  # what the documents' loop spent beside reading them
        segment.set_doc_count(docnum)
        _write_postings(codec, storage, segment, schema, postings, lengths)
        clock.lap("postings")
        if segment.should_assemble():
            segment.create_compound_file(storage)
            segment.compound = True
        clock.lap("assemble")
    except BaseException:
        with contextlib.suppress(Exception):
            perdoc.close()
        raise
    if progress is not None and docnum % 1_000:
        progress(docnum % 1_000)
    log.info("segment of %d documents: %s", docnum, clock)
    return segment


class _Clock:
    """Where a segment writer's time goes, by phase: elapsed and processor seconds (beside
    other work on the machine the first can be much larger)."""

    def __init__(self) -> None:
        self.phases: dict[str, list[float]] = {}
        self.started = time.perf_counter()
        self.mark = (self.started, time.process_time())

    def _add(self, phase: str, wall: float, cpu: float) -> None:
        total = self.phases.setdefault(phase, [0.0, 0.0])
        total[0] += wall
        total[1] += cpu

    def lap(self, phase: str) -> None:
        """Charge the time since the last lap to ``phase``."""
        now = (time.perf_counter(), time.process_time())
        self._add(phase, now[0] - self.mark[0], now[1] - self.mark[1])
        self.mark = now

    def timed_iter(self, phase: str, items: Iterable[Any]) -> Iterator[Any]:
        """``items``, charging the time spent producing each to ``phase`` (and excluding it
        from the next lap)."""
        iterator = iter(items)
        wall, cpu = 0.0, 0.0
        perf, proc = time.perf_counter, time.process_time
        try:
            while True:
                w, c = perf(), proc()
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                finally:
                    dw, dc = perf() - w, proc() - c
                    wall += dw
                    cpu += dc
                    # Not the loop's own time: moved out of the current lap.
                    self.mark = (self.mark[0] + dw, self.mark[1] + dc)
                yield item
        finally:
            self._add(phase, wall, cpu)

    def __str__(self) -> str:
        parts = [f"{name} {w:.1f} s ({c:.1f} CPU)" for name, (w, c) in self.phases.items()]
        return ", ".join(parts) + f"; {time.perf_counter() - self.started:.1f} s in all"


def _compressed(fields: dict[str, Any]) -> bytes:
    """A document's stored fields as Whoosh's stored column keeps them: pickled, compressed."""
    return zlib.compress(dumps(fields, 2), 3)


_LENGTH_BYTES = bytes(length_to_byte(n) for n in range(256))  # a short field's length byte


def _write_lengths(perdoc: Any, name: str, column: bytearray) -> None:
    """Write a field's length bytes as the column ``W3PerDocWriter.add_field`` fills
    (``LENGTHS_COLUMN``: a byte a document, up to the last with a length)."""
    lengths_name = f"_{name}_len"
    perdoc._create_column(lengths_name, LENGTHS_COLUMN)
    writer = perdoc._get_column(lengths_name)
    data = bytes(column).rstrip(b"\0")
    writer._dbfile.write(data)
    writer._count = len(data)


_Pair = tuple[float, bytes]  # a posting's weight and value bytes
_Analysed = list[tuple[bytes, int, _Pair]]  # each term, its frequency, its posting's pair
# A term's postings: (document number, pair) while it has one (most terms: numbers, ids), then
# (document numbers, pairs).
_Postings = tuple[int, _Pair] | tuple["array[int]", list[_Pair]]
_SPELLING_VALUE = pack_uint(1)  # a spelling word's posting: a Frequency of one


class _FieldPlan:
    """How one field of a segment's documents is indexed, and its postings so far."""

    def __init__(
        self,
        name: str,
        fieldobj: Any,
        postings: dict[str, dict[bytes, _Postings]],
        lengths: dict[str, bytearray],
    ) -> None:
        self.field = fieldobj
        self.stored: bool = fieldobj.stored
        self.column_type = fieldobj.column_type
        self.indexed: bool = fieldobj.indexed
        self.scorable: bool = self.indexed and fieldobj.scorable
        self.pairs: dict[Any, _Pair] = {}  # one of each (weight, value bytes)
        self.analyse = _analyser(fieldobj, self.pairs) if self.indexed else None
        self.terms: dict[bytes, _Postings] = postings.setdefault(name, {})
        self.spelling: dict[bytes, _Postings] | None = (
            postings.setdefault(fieldobj.spelling_fieldname(name), {})
            if self.indexed and fieldobj.separate_spelling()
            else None
        )
        # The words a value adds to the spelling list: as ``spellable_words`` finds them (the
        # analyser without its stemming), a word at a time.
        self.spellable = (
            _tokeniser(fieldobj.analyzer, no_morph=True) if self.spelling is not None else None
        )
        self.lengths = lengths.setdefault(name, bytearray()) if self.scorable else None
        self.total_length = 0  # of every document
        self.first_length = 0  # the first document with a length
        # value -> its terms with (weight, value bytes), and its length
        self.analysed: dict[Any, tuple[list[tuple[bytes, _Pair]], int]] = {}
        self.keep = True  # whether values are kept (``analysed``) at all
        self.hits = 0  # values found kept since the list was last cleared
        # A value that is one term as it stands (an id, a number): no analysis to keep.
        self.whole: _Pair | None = None
        if (
            self.indexed
            and not self.scorable
            and self.spelling is None
            and type(fieldobj.analyzer) is IDTokenizer
            and type(fieldobj.format) is formats.Existence
        ):
            self.whole = (fieldobj.format.field_boost, b"")

    def add(self, docnum: int, value: Any) -> int:
        """Index ``value`` as this field of document ``docnum``; returns its length."""
        if not self.indexed:
            return 0
        by_term = self.terms
        entry: Any
        if self.whole is not None and type(value) is str:
            # One term, as it stands (the posting's update as below, for the commonest case).
            text = value.encode("utf-8")
            whole = self.whole
            entry = by_term.get(text)
            if entry is None:
                by_term[text] = (docnum, whole)
            elif type(entry[0]) is int:
                by_term[text] = (array("I", (entry[0], docnum)), [entry[1], whole])
            else:
                entry[0].append(docnum)
                entry[1].append(whole)
            return 0
        known = self.analysed.get(value) if self.keep else None
        if known is None:
            known = self._analyse(value)
        else:
            self.hits += 1
        terms, length = known
        for text, pair in terms:
            entry = by_term.get(text)
            if entry is None:
                by_term[text] = (docnum, pair)
            elif type(entry[0]) is int:
                by_term[text] = (array("I", (entry[0], docnum)), [entry[1], pair])
            else:
                entry[0].append(docnum)
                entry[1].append(pair)
        if self.lengths is not None:
            column = self.lengths
            if len(column) < docnum:
                column.extend(bytes(docnum - len(column)))
            column.append(
                0
                if not length
                else _LENGTH_BYTES[length]
                if length < 256
                else length_to_byte(length)
            )
            if length:
                if not self.total_length:
                    self.first_length = docnum
                self.total_length += length
        return length

    def _analyse(self, value: Any) -> tuple[list[tuple[bytes, _Pair]], int]:
        assert self.analyse is not None
        terms = []
        length = 0
        for text, freq, pair in self.analyse(value):
            terms.append((text, pair))
            length += freq
        known = (terms, length if self.scorable else 0)
        if self.keep:
            if len(self.analysed) >= _ANALYSED_KEPT:
                # Values seldom seen twice (where a part fits, a list of models): keeping them
                # costs more than analysing again the few that come back.
                self.keep = self.hits * 10 >= _ANALYSED_KEPT
                self.hits = 0
                self.analysed.clear()
            self.analysed[value] = known
        if self.spelling is not None:  # a value seen before has its words listed
            words = (
                self.spellable(value)
                if self.spellable is not None and isinstance(value, str)
                else [word.encode("utf-8") for word in self.field.spellable_words(value)]
            )
            for text in words:
                if text not in self.spelling:
                    self.spelling[text] = (0, (1.0, _SPELLING_VALUE))
        return known


def _analyser(fieldobj: Any, pairs: dict[Any, _Pair]) -> Callable[[Any], _Analysed]:
    """What ``fieldobj.index`` does to a value, quicker for the analysers this corpus uses:
    each term with its frequency and its posting's (weight, value bytes), one tuple of each
    kept in ``pairs``.

    Most of a document's analysis is of values seen before in parts (a model's name among
    other names, a model number in a list); these analysers take a value apart where their
    tokeniser would (on spaces, or commas) and keep each part's tokens, so each part is
    analysed once. Any other analyser or format is left to Whoosh.
    """
    tokens = _tokeniser(fieldobj.analyzer, mode="index", boosts=True)
    fmt = fieldobj.format

    def whoosh(value: Any) -> _Analysed:
        return [
            (text, freq, pairs.setdefault((weight, vbytes), (weight, vbytes)))
            for text, freq, weight, vbytes in fieldobj.index(value)
        ]

    if tokens is None or type(fmt) not in (formats.Frequency, formats.Existence):
        return whoosh
    boost = fmt.field_boost
    if type(fmt) is formats.Existence:
        present = pairs.setdefault((boost, b""), (boost, b""))

        def existence(value: Any) -> _Analysed:
            if not isinstance(value, str):
                return whoosh(value)
            return [(text, 1, present) for text in set(tokens(value))]

        return existence

    def frequency(value: Any) -> _Analysed:
        if not isinstance(value, str):
            return whoosh(value)
        found = []
        for text, n in Counter(tokens(value)).items():
            pair = pairs.get(n)
            if pair is None:  # as Frequency.word_values weighs n occurrences
                weight, vbytes = n * 1.0 * boost, pack_uint(n)
                pair = pairs[n] = pairs.setdefault((weight, vbytes), (weight, vbytes))
            found.append((text, n, pair))
        return found

    return frequency


# Filters that look at one token at a time: a value's tokens are then its words' tokens.
_TOKEN_FILTERS = (LowercaseFilter, StopFilter, StemFilter)


def _tokeniser(analyzer: Any, **options: Any) -> Callable[[str], list[bytes]] | None:
    """The token texts (UTF-8) of a value, for an analyser whose tokens never span a space or a
    comma (see ``_analyser``), analysing with ``options``; None for any other."""
    if type(analyzer) is IDTokenizer:
        return lambda value: [value.encode("utf-8")]
    if type(analyzer) is not CompositeAnalyzer or not analyzer.items:
        return None
    first, *filters = analyzer.items
    if (
        type(first) is RegexTokenizer
        and not first.gaps
        and first.expression.pattern == "[^,]+"
        and [type(f) for f in filters] == [StripFilter]
    ):  # CommaSeparatedTokenizer: an empty piece is no token, a blank one an empty token
        return lambda value: [piece.strip().encode("utf-8") for piece in value.split(",") if piece]
    if (
        type(first) is not RegexTokenizer
        or first.gaps
        or first.expression.pattern != default_pattern.pattern
        or not all(type(f) in _TOKEN_FILTERS for f in filters)
    ):
        return None
    words: dict[str, list[bytes]] = {}

    def tokens(value: str) -> list[bytes]:
        found: list[bytes] = []
        for word in value.split():
            texts = words.get(word)
            if texts is None:
                if len(words) >= _WORDS_KEPT:
                    words.clear()
                texts = words[word] = [t.text.encode("utf-8") for t in analyzer(word, **options)]
            found += texts
        return found

    return tokens


_TERM_INFO = struct.Struct("!BfIBBfII")  # W3TermInfo's fixed part
_FLOAT32 = struct.Struct("f")


def _write_postings(
    codec: Any,
    storage: FileStorage,
    segment: Any,
    schema: Schema,
    postings: Mapping[str, Mapping[bytes, _Postings]],
    lengths: Mapping[str, bytearray],
) -> None:
    """Write every term's postings and term info, byte for byte as Whoosh's ``W3FieldWriter``
    (uncompressed blocks of ``codec``'s size) does posting by posting, but a block at a time:
    that writer spends most of its time checking and buffering each posting."""
    writer = codec.field_writer(storage, segment)
    blocklimit: int = codec._blocklimit
    assert not codec._compression, "blocks are written uncompressed"
    postfile = writer._postfile
    terms = _TermsTable(writer._tindex)
    position = postfile.tell()
    chunks: list[bytes] = []
    size = 0
    for name in sorted(postings):
        fieldobj = schema[name]
        writer.start_field(name, fieldobj)
        by_term = postings[name]
        if not by_term:  # a field only stored (it has its number all the same)
            writer.finish_field()
            continue
        prefix = pack_ushort(writer._fieldid)
        fixed = fieldobj.format.fixed_value_size()
        column = lengths.get(name)
        # A block's weights and values as Whoosh minifies them, for a term's one posting
        # (most terms): there are few distinct (weight, value) pairs.
        single: dict[_Pair, tuple[Any, Any, float]] = {}
        for text in sorted(by_term):
            docnums, pairs = by_term[text]
            if isinstance(docnums, int):
                pair = cast(_Pair, pairs)
                known = single.get(pair)
                if known is None:
                    w32 = _FLOAT32.unpack(_FLOAT32.pack(pair[0]))[0]
                    known = single[pair] = (
                        None if w32 == 1.0 else w32,
                        _mini_values(fixed, [pair[1]] if pair[1] else []),
                        w32,
                    )
                coded = column[docnums] if column is not None and docnums < len(column) else 0
                length = byte_to_length(coded) if coded else 0
                block = _block(
                    (docnums,),
                    docnums,
                    known[0],
                    known[1],
                    pair[0],
                    length or None,
                    length,
                    last=True,
                )
                weight = 0 + known[2]
                top = max(0, pair[0] if pair[0] > 0 else 0)
                first_id = last_id = docnums
                minlength: int | None = length or None
                maxlength = max(0, length)
                body = _W3_MAGIC + block
                count = 1
            else:
                ids, pair_list = docnums, cast(list[_Pair], pairs)
                count = len(ids)
                pieces = [_W3_MAGIC]
                weight = 0
                top = 0
                minlength = None
                maxlength = 0
                for at in range(0, count, blocklimit):
                    block_ids = ids[at : at + blocklimit]
                    block_pairs = pair_list[at : at + blocklimit]
                    weights = array("f", [p[0] for p in block_pairs])
                    block_top = max(p[0] for p in block_pairs)
                    block_top = block_top if block_top > 0 else 0
                    if column is None:
                        block_min: int | None = None
                        block_max = 0
                    else:
                        found = [
                            byte_to_length(column[d])
                            for d in block_ids
                            if d < len(column) and column[d]
                        ]
                        block_min = min(found) if found else None
                        block_max = max(found) if found else 0
                    if all(w == 1.0 for w in weights):
                        mini_weights: Any = None
                    elif all(w == weights[0] for w in weights):
                        mini_weights = weights[0]
                    else:
                        mini_weights = tuple(weights)
                    block = _block(
                        tuple(_deltas(block_ids)),
                        block_ids[-1],
                        mini_weights,
                        _mini_values(fixed, [p[1] for p in block_pairs if p[1]]),
                        block_top,
                        block_min,
                        block_max,
                        last=at + blocklimit >= count,
                    )
                    pieces.append(block)
                    # As W3TermInfo.add_block gathers a term's statistics block by block.
                    weight += sum(weights)
                    minlength = block_min if minlength is None else min(minlength, block_min)  # type: ignore[type-var]
                    maxlength = max(maxlength, block_max)
                    top = max(top, block_top)
                first_id, last_id = ids[0], ids[-1]
                body = b"".join(pieces)
            info_bytes = (
                _TERM_INFO.pack(
                    False,
                    weight,
                    count,
                    0 if minlength is None else length_to_byte(minlength),
                    length_to_byte(maxlength),
                    top,
                    first_id,
                    last_id,
                )
                + pack_long(position)
                + pack_int(len(body))
            )
            chunks.append(body)
            size += len(body)
            position += len(body)
            if size >= 1 << 20:
                postfile.write(b"".join(chunks))
                chunks.clear()
                size = 0
            terms.add(prefix + text, info_bytes)
        writer.finish_field()
    postfile.write(b"".join(chunks))
    assert postfile.tell() == position
    terms.flush()
    writer.close()


class _TermsTable:
    """Adds rows to a Whoosh ``OrderedHashWriter`` (the terms file) as its ``add`` does, keys
    in order, but buffered: its ``add`` asks the file where it is twice a row."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.position: int = table.dbfile.tell()
        self.chunks: list[bytes] = []
        self.buckets: list[list[tuple[int, int]]] = table.buckets
        self.index = table.index
        assert table.hashfn is md5_hash, "the terms table hashes keys by MD5"

    def add(self, key: bytes, value: bytes) -> None:
        row = _ROW_LENGTHS.pack(len(key), len(value)) + key + value
        self.index.append(self.position)
        # md5_hash: the digest's low 32 bits.
        digest = int.from_bytes(hashlib.md5(key, usedforsecurity=False).digest()[-4:], "big")
        self.buckets[digest & 255].append((digest, self.position))
        self.chunks.append(row)
        self.position += len(row)
        if len(self.chunks) >= 4096:
            self.flush()
        self.table.lastkey = key

    def flush(self) -> None:
        self.table.dbfile.write(b"".join(self.chunks))
        self.chunks.clear()
        assert self.table.dbfile.tell() == self.position


def _block(
    ids: tuple[int, ...],
    last_id: int,
    weights: Any,
    values: Any,
    top: float,
    minlength: int | None,
    maxlength: int,
    *,
    last: bool,
) -> bytes:
    """One block of postings (``ids`` as deltas from the one before) as
    ``W3PostingsWriter._write_block`` writes it: its length, negative for a term's last block,
    its header, its data."""
    info = dumps(
        (len(ids), last_id, top, 0, length_to_byte(minlength), length_to_byte(maxlength)), 2
    )
    data = dumps((ids, weights, values), 2)
    length = len(info) + len(data)
    block: bytes = pack_int(-length if last else length) + info + data
    return block


def _deltas(ids: Iterable[int]) -> Iterator[int]:
    base = 0
    for n in ids:
        yield n - base
        base = n


def _mini_values(fixed: int | None, values: list[bytes]) -> Any:
    """A block's values as ``W3PostingsWriter._mini_values`` keeps them."""
    if fixed is None or fixed < 0:
        return tuple(values)
    if fixed == 0:
        return None
    return b"".join(values)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
