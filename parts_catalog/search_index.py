"""The parts search index's contents: its schema, its documents as of a release, the changes a
release logs for the index writers, and the check that compares index and database.

A document is a part or a model of the newest release. A part's document also carries where it
is used (product lines, model names and numbers) and what supersedes it, so that a release that
changes fitment or supersession queues the parts it touches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import xxhash
from sqlalchemy import ColumnElement, Select, and_, func, insert, literal, or_, select, union
from sqlalchemy.orm import Session
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.writing import IndexWriter

from parts_catalog import search_queue
from parts_catalog.models import (
    FitmentVersion,
    ModelVersion,
    PartVersion,
    Release,
    SearchChange,
    SupersessionVersion,
)
from parts_catalog.services import latest_release
from parts_catalog.sqltypes import UTCDateTime, utcnow

INDEX_NAME = "parts"
# Raised with every change to SCHEMA or to what documents hold: an index written under another
# version is reported and rebuilt, never read with the wrong fields.
SCHEMA_VERSION = 2
PART, MODEL = "part", "model"
KINDS = (PART, MODEL)
_CHUNK = 5_000

analyzer = StemmingAnalyzer()


def stems(text: str) -> tuple[str, ...]:
    """``text`` as the index sees it: lower case, stemmed, without stop words."""
    return tuple(token.text for token in analyzer(text))


SCHEMA = Schema(
    doc_id=ID(stored=True, unique=True),  # "part:1474594111": kind and normal form
    kind=ID(stored=True),
    key=STORED(),  # the number as the catalogue spells it
    norm=ID(stored=True),
    # Words without their positions (phrase=False): no query asks for a phrase, and positions
    # cost a pickle per posting to write and space to keep.
    title=TEXT(analyzer=analyzer, stored=True, spelling=True, phrase=False),
    # Where a part is used (product lines, model names) or a model's line and chassis: found by
    # words, but worth less than the part's own description.
    fits=TEXT(analyzer=analyzer, stored=True, field_boost=0.4, phrase=False),
    category=ID(stored=True),
    status=ID(stored=True),
    product_line=KEYWORD(stored=True, commas=True),
    models=KEYWORD(stored=True, commas=True),  # normal forms of the models a part fits
    replaced_by=STORED(),  # the numbers that directly supersede a part
    safety=STORED(),
    stamp=STORED(),  # a digest of the rest, for the check
)


# --- documents -----------------------------------------------------------------------------------


def _doc_id(kind: str, norm: str) -> str:
    return f"{kind}:{norm}"


def stamped(doc: dict[str, Any]) -> dict[str, Any]:
    # One digest of every "name=value" in name order (as fed to a running digest piece by
    # piece, which gives the same number).
    text = "".join([f"{name}={doc[name]}\x1f" for name in sorted(doc)])
    doc["stamp"] = xxhash.xxh3_64_intdigest(text.encode())
    return doc


@dataclass(frozen=True)
class _Model:
    number: str
    name: str | None
    product_line: str | None
    chassis: str | None


def _models(session: Session, release_id: int) -> dict[str, _Model]:
    rows = session.execute(
        select(
            ModelVersion.number_norm,
            ModelVersion.number,
            ModelVersion.name,
            ModelVersion.product_line,
            ModelVersion.chassis,
        ).where(ModelVersion.as_of(release_id))
    )
    return {norm: _Model(number, name, line, chassis) for norm, number, name, line, chassis in rows}


class _PartRow(Protocol):
    """What a part's document is made of: a ``PartVersion`` or a row of its columns."""

    number_norm: str
    number: str
    description: str
    category: str | None
    status: str
    safety_critical: bool


_PART_COLUMNS = (
    PartVersion.number_norm,
    PartVersion.number,
    PartVersion.description,
    PartVersion.category,
    PartVersion.status,
    PartVersion.safety_critical,
)


def _part_document(
    part: _PartRow,
    fitted: Sequence[_Model],
    fitted_norms: Sequence[str],
    replaced_by: Sequence[str],
) -> dict[str, Any]:
    lines = sorted({m.product_line for m in fitted if m.product_line})
    names = sorted({m.name for m in fitted if m.name})
    return stamped(
        {
            "doc_id": _doc_id(PART, part.number_norm),
            "kind": PART,
            "key": part.number,
            "norm": part.number_norm,
            "title": part.description,
            "fits": " ".join([*lines, *names]),
            "category": (part.category or "").lower(),
            "status": part.status,
            "product_line": ",".join(line.lower() for line in lines),
            "models": ",".join(sorted(fitted_norms)),
            "safety": part.safety_critical,
            "replaced_by": ", ".join(sorted(replaced_by)),
        }
    )


def _model_document(norm: str, model: _Model) -> dict[str, Any]:
    return stamped(
        {
            "doc_id": _doc_id(MODEL, norm),
            "kind": MODEL,
            "key": model.number,
            "norm": norm,
            "title": model.name or model.number,
            "fits": " ".join(filter(None, [model.product_line, model.chassis])),
            "category": "",
            "status": "model",
            "product_line": (model.product_line or "").lower(),
            "models": norm,
            "safety": False,
            "replaced_by": "",
        }
    )


def _successor_edges(release_id: int) -> Select[str, Any]:
    """(old normal form, each new number as the release spells it) of the supersessions."""
    new = PartVersion.__table__.alias("new")
    return select(
        SupersessionVersion.old_norm,
        func.coalesce(new.c.number, SupersessionVersion.new_norm),
    ).outerjoin(
        new,
        and_(
            new.c.number_norm == SupersessionVersion.new_norm,
            new.c.valid_from <= release_id,
            or_(new.c.valid_to.is_(None), new.c.valid_to > release_id),
        ),
    )


def _part_documents(
    session: Session,
    release_id: int,
    parts: Sequence[_PartRow],
    models: Mapping[str, _Model],
    *,
    span: tuple[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The documents of ``parts``; ``span`` (first, last normal form) says they are every
    part of the release in that range, which is then read by range rather than by a list."""
    fitted: dict[str, list[str]] = defaultdict(list)
    successors: dict[str, list[str]] = defaultdict(list)
    edges = _successor_edges(release_id).where(SupersessionVersion.as_of(release_id))
    if span is not None:
        lists: Iterable[tuple[ColumnElement[bool], ColumnElement[bool]]] = [
            (
                FitmentVersion.part_norm.between(*span),
                SupersessionVersion.old_norm.between(*span),
            )
        ]
    else:
        lists = (
            (FitmentVersion.part_norm.in_(norms), SupersessionVersion.old_norm.in_(norms))
            for norms in _chunks([p.number_norm for p in parts], 500)
        )
    for fitment_rows, edge_rows in lists:
        rows = session.execute(
            select(FitmentVersion.part_norm, FitmentVersion.model_norm)
            .where(FitmentVersion.as_of(release_id), fitment_rows)
            .distinct()
        )
        for part_norm, model_norm in rows:
            fitted[part_norm].append(model_norm)
        for old_norm, new_number in session.execute(edges.where(edge_rows)):
            successors[old_norm].append(new_number)
    for part in parts:
        norms = fitted.get(part.number_norm, [])
        yield _part_document(
            part,
            [models[n] for n in norms if n in models],
            norms,
            successors.get(part.number_norm, []),
        )


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Shard:
    """A share of a rebuild: the parts of ``release_id`` with ``after < norm <= upto`` (no
    bound when None), and the models when ``models``. Plain data, for another process."""

    release_id: int
    after: str | None = None
    upto: str | None = None
    models: bool = True


def shards(session: Session, release: Release, count: int, *, least: int = _CHUNK) -> list[Shard]:
    """``release``'s documents in up to ``count`` shares of about as many documents each
    (``least`` parts or more a share), which together are ``documents(session, release)``.
    The first holds the models and as many fewer parts: otherwise its process finishes last
    while the others wait."""
    total = session.scalar(select(func.count()).where(PartVersion.as_of(release.id))) or 0
    models = session.scalar(select(func.count()).where(ModelVersion.as_of(release.id))) or 0
    count = max(1, min(count, total // max(least, 1)))
    bounds: list[str | None] = [None]
    before = 0  # parts in the shares so far
    for k in range(1, count):
        # The parts before the k-th bound: k shares' worth of documents, less the models.
        upto = min((total + models) * k // count - models, total - (count - k))
        if upto <= before:
            continue  # the models alone fill this share
        bounds.append(
            session.scalar(
                select(PartVersion.number_norm)
                .where(PartVersion.as_of(release.id))
                .order_by(PartVersion.number_norm)
                .offset(upto - 1)
                .limit(1)
            )
        )
        before = upto
    bounds.append(None)
    return [
        Shard(release.id, after=bounds[i], upto=bounds[i + 1], models=i == 0)
        for i in range(len(bounds) - 1)
    ]


def shard_documents(session: Session, shard: Shard) -> Iterator[dict[str, Any]]:
    """The documents of ``shard``: its models, then its parts in number order.

    Streams in chunks (memory stays flat whatever the catalogue's size).
    """
    release_id = shard.release_id
    models = _models(session, release_id)
    if shard.models:
        for norm, model in sorted(models.items()):
            yield _model_document(norm, model)
    after = shard.after
    while True:
        query = (
            select(*_PART_COLUMNS)
            .where(PartVersion.as_of(release_id))
            .order_by(PartVersion.number_norm)
            .limit(_CHUNK)
        )
        if after is not None:
            query = query.where(PartVersion.number_norm > after)
        if shard.upto is not None:
            query = query.where(PartVersion.number_norm <= shard.upto)
        parts: Sequence[_PartRow] = session.execute(query).all()
        if not parts:
            return
        span = (parts[0].number_norm, parts[-1].number_norm)
        yield from _part_documents(session, release_id, parts, models, span=span)
        after = parts[-1].number_norm


def documents(session: Session, release: Release) -> Iterator[dict[str, Any]]:
    """Every document of the index as of ``release``: models, then parts in number order.

    Streams in chunks (memory stays flat whatever the catalogue's size).
    """
    return shard_documents(session, Shard(release.id))


def documents_for(session: Session, release: Release, doc_ids: Iterable[str]) -> dict[str, Any]:
    """The documents ``doc_ids`` name as of ``release``: a dict by id, ``None`` for a document
    the release no longer lists (to delete)."""
    wanted: dict[str, set[str]] = {PART: set(), MODEL: set()}
    for doc_id in doc_ids:
        kind, _, norm = doc_id.partition(":")
        if kind in wanted:
            wanted[kind].add(norm)
    found: dict[str, Any] = {
        _doc_id(kind, norm): None for kind, norms in wanted.items() for norm in norms
    }
    models = _models(session, release.id)
    for norm in wanted[MODEL]:
        if norm in models:
            found[_doc_id(MODEL, norm)] = _model_document(norm, models[norm])
    for norms in _chunks(sorted(wanted[PART]), 500):
        parts = list(
            session.scalars(
                select(PartVersion).where(
                    PartVersion.as_of(release.id), PartVersion.number_norm.in_(norms)
                )
            )
        )
        for doc in _part_documents(session, release.id, parts, models):
            found[doc["doc_id"]] = doc
    return found


def write_documents(writer: IndexWriter, docs: Iterable[dict[str, Any]], *, fresh: bool) -> int:
    """Add (``fresh``: to an empty index) or replace documents; returns how many."""
    count = 0
    put = writer.add_document if fresh else writer.update_document
    for doc in docs:
        put(**doc)
        count += 1
    return count


def apply_documents(writer: IndexWriter, found: Mapping[str, dict[str, Any] | None]) -> None:
    """Replace each document with its new version, or delete it when it is gone."""
    for doc_id, doc in found.items():
        if doc is None:
            writer.delete_by_term("doc_id", doc_id)
        else:
            writer.update_document(**doc)


# --- the log of changes --------------------------------------------------------------------------


def queue_release_changes(session: Session, release_id: int) -> None:
    """Log every document ``release_id`` changed (``search_queue``): parts and models it added,
    changed or dropped, parts whose fitment changed, and parts fitted to a model that changed."""
    search_queue.lock_for_append(session)  # before the ids are drawn: they follow commit order
    changed_model = or_(ModelVersion.valid_from == release_id, ModelVersion.valid_to == release_id)
    parts = union(
        select(PartVersion.number_norm.label("norm")).where(
            or_(PartVersion.valid_from == release_id, PartVersion.valid_to == release_id)
        ),
        select(FitmentVersion.part_norm).where(
            or_(FitmentVersion.valid_from == release_id, FitmentVersion.valid_to == release_id)
        ),
        select(FitmentVersion.part_norm).where(
            FitmentVersion.as_of(release_id),
            FitmentVersion.model_norm.in_(select(ModelVersion.number_norm).where(changed_model)),
        ),
        select(SupersessionVersion.old_norm).where(
            or_(
                SupersessionVersion.valid_from == release_id,
                SupersessionVersion.valid_to == release_id,
            )
        ),
    ).subquery()
    now = literal(utcnow(), UTCDateTime())
    columns = ["index_name", "doc_id", "queued_at"]
    session.execute(
        insert(SearchChange).from_select(
            columns,
            select(literal(INDEX_NAME), literal(f"{PART}:") + parts.c.norm, now),
        )
    )
    session.execute(
        insert(SearchChange).from_select(
            columns,
            select(literal(INDEX_NAME), literal(f"{MODEL}:") + ModelVersion.number_norm, now)
            .where(changed_model)
            .distinct(),
        )
    )


# --- the corpus, for the index writer ------------------------------------------------------------


class PartsCorpus:
    """The parts index's side of ``parts_catalog.indexes.Corpus``: parts and models of the
    newest release."""

    name = INDEX_NAME
    schema = SCHEMA
    version = SCHEMA_VERSION

    def __init__(self, *, shard_least: int = _CHUNK) -> None:
        """``shard_least``: the fewest parts worth a process of their own in a rebuild."""
        self.shard_least = shard_least

    def source(self, session: Session) -> tuple[int | None, str | None]:
        release = latest_release(session)
        return (release.id, release.label) if release else (None, None)

    def count(self, session: Session) -> int:
        release_id, _label = self.source(session)
        if release_id is None:
            return 0
        parts = session.scalar(select(func.count()).where(PartVersion.as_of(release_id))) or 0
        models = session.scalar(select(func.count()).where(ModelVersion.as_of(release_id))) or 0
        return parts + models

    def documents(self, session: Session) -> Iterator[dict[str, Any]]:
        release = self._release(session)
        return documents(session, release) if release else iter(())

    def shards(self, session: Session, count: int) -> list[Shard]:
        release = self._release(session)
        return shards(session, release, count, least=self.shard_least) if release else []

    def shard_documents(self, session: Session, shard: Any) -> Iterator[dict[str, Any]]:
        assert isinstance(shard, Shard)
        return shard_documents(session, shard)

    def documents_for(self, session: Session, doc_ids: Iterable[str]) -> dict[str, Any]:
        release = self._release(session)
        return documents_for(session, release, doc_ids) if release else {}

    def _release(self, session: Session) -> Release | None:
        release_id, _label = self.source(session)
        return session.get(Release, release_id) if release_id is not None else None
