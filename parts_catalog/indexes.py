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
import json
import multiprocessing
import os
import shutil
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from whoosh import formats
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
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.searching import Searcher
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import IndexWriter

from parts_catalog.errors import CatalogError

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
    with factory() as session:
        # A child process opens its own connections from an engine; a session bound to one
        # connection (a test's transaction) cannot be shared with another process.
        forkable = isinstance(factory.kw.get("bind"), Engine)
        if processes > 1 and forkable and isinstance(corpus, ShardedCorpus):
            shares: list[Any] = corpus.shards(session, processes)
        else:
            shares = [None]
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
            return write_segment(
                generation,
                store.schema,
                corpus.shard_documents(session, share),
                progress=report,
            )

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
    try:
        for doc in docs:
            perdoc.start_doc(docnum)
            for name in sorted(doc):
                value = doc[name]
                if value is None or name.startswith("_"):
                    continue
                plan = plans.get(name)
                if plan is None:
                    plan = plans[name] = _FieldPlan(name, schema[name], postings, lengths)
                length = plan.add(docnum, value)
                perdoc.add_field(name, plan.field, value if plan.stored else None, length)
                if plan.column_type:
                    perdoc.add_column_value(
                        name, plan.column_type, plan.field.to_column_value(value)
                    )
            perdoc.finish_doc()
            docnum += 1
            if progress is not None and docnum % 1_000 == 0:
                progress(1_000)
        perdoc.close()
        segment.set_doc_count(docnum)
        _write_postings(codec, storage, segment, schema, postings, lengths)
        if segment.should_assemble():
            segment.create_compound_file(storage)
            segment.compound = True
    except BaseException:
        with contextlib.suppress(Exception):
            perdoc.close()
        raise
    if progress is not None and docnum % 1_000:
        progress(docnum % 1_000)
    return segment


_Analysed = Iterable[tuple[bytes, int, float, bytes]]  # (term, frequency, weight, value bytes)
_Pair = tuple[float, bytes]  # a posting's weight and value bytes
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
        self.analyse = _analyser(fieldobj) if self.indexed else None
        self.terms: dict[bytes, _Postings] = postings.setdefault(name, {})
        self.spelling: dict[bytes, _Postings] | None = (
            postings.setdefault(fieldobj.spelling_fieldname(name), {})
            if self.indexed and fieldobj.separate_spelling()
            else None
        )
        self.lengths = lengths.setdefault(name, bytearray()) if self.scorable else None
        # value -> its terms with (weight, value bytes), and its length
        self.analysed: dict[Any, tuple[list[tuple[bytes, tuple[float, bytes]]], int]] = {}
        self.pairs: dict[tuple[float, bytes], tuple[float, bytes]] = {}  # one of each
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
        if self.whole is not None and isinstance(value, str):
            terms: list[tuple[bytes, _Pair]] = [(value.encode("utf-8"), self.whole)]
            length = 0
        else:
            known = self.analysed.get(value)
            if known is None:
                known = self._analyse(value)
            terms, length = known
        by_term = self.terms
        for text, pair in terms:
            entry = by_term.get(text)
            if entry is None:
                by_term[text] = (docnum, pair)
            elif isinstance(entry[0], int):
                by_term[text] = (array("I", (entry[0], docnum)), [entry[1], pair])
            else:
                entry[0].append(docnum)
                entry[1].append(pair)
        if self.lengths is not None:
            column = self.lengths
            if len(column) < docnum:
                column.extend(bytes(docnum - len(column)))
            column.append(length_to_byte(length) if length else 0)
        return length

    def _analyse(self, value: Any) -> tuple[list[tuple[bytes, tuple[float, bytes]]], int]:
        assert self.analyse is not None
        pairs = self.pairs
        terms = []
        length = 0
        for text, freq, weight, vbytes in self.analyse(value):
            terms.append((text, pairs.setdefault((weight, vbytes), (weight, vbytes))))
            length += freq
        known = (terms, length if self.scorable else 0)
        if len(self.analysed) >= _ANALYSED_KEPT:
            self.analysed.clear()
        self.analysed[value] = known
        if self.spelling is not None:  # a value seen before has its words listed
            for word in self.field.spellable_words(value):
                text = word.encode("utf-8")
                if text not in self.spelling:
                    self.spelling[text] = (0, (1.0, _SPELLING_VALUE))
        return known


def _analyser(fieldobj: Any) -> Callable[[Any], _Analysed]:
    """What ``fieldobj.index`` does to a value, quicker for the analysers this corpus uses.

    Most of a document's analysis is of values seen before in parts (a model's name among
    other names, a model number in a list); these analysers take a value apart where their
    tokeniser would (on spaces, or commas) and keep each part's tokens, so each part is
    analysed once. Any other analyser or format is left to Whoosh.
    """
    tokens = _tokeniser(fieldobj.analyzer)
    fmt = fieldobj.format
    if tokens is None or type(fmt) not in (formats.Frequency, formats.Existence):
        return cast(Callable[[Any], _Analysed], fieldobj.index)
    boost = fmt.field_boost
    if type(fmt) is formats.Existence:

        def existence(value: Any) -> _Analysed:
            if not isinstance(value, str):
                return cast(_Analysed, fieldobj.index(value))
            return [(text.encode("utf-8"), 1, boost, b"") for text in set(tokens(value))]

        return existence

    def frequency(value: Any) -> _Analysed:
        if not isinstance(value, str):
            return cast(_Analysed, fieldobj.index(value))
        counts = Counter(tokens(value))
        return [
            (text.encode("utf-8"), n, n * 1.0 * boost, pack_uint(n)) for text, n in counts.items()
        ]

    return frequency


# Filters that look at one token at a time: a value's tokens are then its words' tokens.
_TOKEN_FILTERS = (LowercaseFilter, StopFilter, StemFilter)


def _tokeniser(analyzer: Any) -> Callable[[str], list[str]] | None:
    """The token texts of a value, for an analyser whose tokens never span a space or a comma
    (see ``_analyser``); None for any other."""
    if type(analyzer) is IDTokenizer:
        return lambda value: [value]
    if type(analyzer) is not CompositeAnalyzer or not analyzer.items:
        return None
    first, *filters = analyzer.items
    if (
        type(first) is RegexTokenizer
        and not first.gaps
        and first.expression.pattern == "[^,]+"
        and [type(f) for f in filters] == [StripFilter]
    ):  # CommaSeparatedTokenizer: an empty piece is no token, a blank one an empty token
        return lambda value: [piece.strip() for piece in value.split(",") if piece]
    if (
        type(first) is not RegexTokenizer
        or first.gaps
        or first.expression.pattern != default_pattern.pattern
        or not all(type(f) in _TOKEN_FILTERS for f in filters)
    ):
        return None
    words: dict[str, list[str]] = {}

    def tokens(value: str) -> list[str]:
        found: list[str] = []
        for word in value.split():
            texts = words.get(word)
            if texts is None:
                if len(words) >= _ANALYSED_KEPT:
                    words.clear()
                texts = words[word] = [t.text for t in analyzer(word, mode="index", boosts=True)]
            found += texts
        return found

    return tokens


def _write_postings(
    codec: Any,
    storage: FileStorage,
    segment: Any,
    schema: Schema,
    postings: Mapping[str, Mapping[bytes, _Postings]],
    lengths: Mapping[str, bytearray],
) -> None:
    writer = codec.field_writer(storage, segment)
    for name in sorted(postings):
        writer.start_field(name, schema[name])
        column = lengths.get(name)
        by_term = postings[name]
        for text in sorted(by_term):
            docnums, pairs = by_term[text]
            items: Iterable[tuple[int, _Pair]] = (
                ((docnums, cast(_Pair, pairs)),)
                if isinstance(docnums, int)
                else zip(docnums, cast(list[_Pair], pairs), strict=True)
            )
            writer.start_term(text)
            for docnum, (weight, vbytes) in items:
                # A length as Whoosh's writer passes it: read back from its one-byte form.
                coded = column[docnum] if column is not None and docnum < len(column) else 0
                writer.add(docnum, weight, vbytes, byte_to_length(coded) if coded else 0)
            writer.finish_term()
        writer.finish_field()
    writer.close()


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
