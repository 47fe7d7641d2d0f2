"""Finding the right tree from a symptom: a Whoosh index of the published trees.

A tree is found by its title, its symptoms and its codes, stemmed, a typo forgiven where the
word is not one the trees use; every word must match, so a question no tree covers finds
nothing rather than noise. Publishing or retiring logs the tree for the index writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.query import And, Or, Query, Term
from whoosh.searching import Searcher

from diagnostics.models import PUBLISHED, TreeRevision
from parts_catalog import search_queue
from parts_catalog.search_index import analyzer, stamped, stems

INDEX_NAME = "trees"
SCHEMA_VERSION = 2
KIND = "tree"

SCHEMA = Schema(
    doc_id=ID(stored=True, unique=True),  # "tree:tv-red-led-blinks"
    key=STORED(),  # the tree id
    title=TEXT(analyzer=analyzer, stored=True, spelling=True),
    symptoms=TEXT(analyzer=analyzer, stored=True, spelling=True),
    codes=KEYWORD(stored=True, commas=True, lowercase=True),
    models=STORED(),  # glob patterns, matched against a model when one is given
    chassis=STORED(),
    product_line=ID(stored=True),
    stamp=STORED(),
)
_FIELD_WEIGHT = {"title": 1.5, "symptoms": 2.0}


def _document(revision: TreeRevision) -> dict[str, Any]:
    document = revision.document
    return stamped(
        {
            "doc_id": f"{KIND}:{revision.tree_id}",
            "key": revision.tree_id,
            "title": revision.title,
            "symptoms": " | ".join(document.get("symptoms") or []),
            "codes": ",".join(document.get("codes") or []),
            "models": ",".join(document.get("models") or []),
            "chassis": ",".join(document.get("chassis") or []),
            "product_line": (revision.product_line or "").lower(),
        }
    )


def queue_tree(session: Session, tree_id: str) -> None:
    """Log a tree whose published revision changed, in the same transaction, for every node's
    index to follow."""
    search_queue.enqueue(session, INDEX_NAME, [f"{KIND}:{tree_id}"])


class TreesCorpus:
    """The trees index's side of ``parts_catalog.indexes.Corpus``: published revisions."""

    name = INDEX_NAME
    schema = SCHEMA
    version = SCHEMA_VERSION

    def source(self, session: Session) -> tuple[int | None, str | None]:
        return (None, None)

    def count(self, session: Session) -> int:
        return len(self._published(session))

    def documents(self, session: Session) -> Iterator[dict[str, Any]]:
        return iter([_document(r) for r in self._published(session)])

    def documents_for(self, session: Session, doc_ids: Iterable[str]) -> dict[str, Any]:
        tree_ids = {d.partition(":")[2] for d in doc_ids}
        found: dict[str, Any] = {f"{KIND}:{t}": None for t in tree_ids}
        for revision in self._published(session, tree_ids):
            found[f"{KIND}:{revision.tree_id}"] = _document(revision)
        return found

    def _published(
        self, session: Session, tree_ids: set[str] | None = None
    ) -> Sequence[TreeRevision]:
        query = select(TreeRevision).where(TreeRevision.status == PUBLISHED)
        if tree_ids is not None:
            query = query.where(TreeRevision.tree_id.in_(tree_ids))
        return session.scalars(query.order_by(TreeRevision.tree_id)).all()


@dataclass(frozen=True)
class TreeHit:
    key: str
    title: str
    score: float
    symptoms: str
    models: tuple[str, ...]
    chassis: tuple[str, ...]


def _word_terms(searcher: Searcher, stem: str) -> list[Query]:
    reader = searcher.reader()
    terms: list[Query] = [
        Term(name, stem, boost=weight)
        for name, weight in _FIELD_WEIGHT.items()
        if (name, stem) in reader
    ]
    if ("codes", stem) in reader:
        terms.append(Term("codes", stem, boost=3.0))
    return terms


#: For each searcher of the trees index, each word's correction (or None) found so far: every
#: word of a parts search is looked for among the trees too, and most are no tree's, so each
#: was corrected again on every search (a tenth of a word search). A changed index is a new
#: searcher, with nothing kept.
_CORRECTED: WeakKeyDictionary[Searcher, dict[str, str | None]] = WeakKeyDictionary()
_CORRECTED_KEPT = 20_000  # words a searcher keeps (then it starts again)


def _corrected(searcher: Searcher, word: str) -> str | None:
    """The trees' own word one edit away from ``word`` ("blnking" → "blinking")."""
    if len(word) < 4 or not word.isalpha():
        return None
    kept = _CORRECTED.get(searcher)
    if kept is None:
        kept = _CORRECTED.setdefault(searcher, {})
    elif word in kept:
        return kept[word]
    elif len(kept) >= _CORRECTED_KEPT:
        kept.clear()
    fixed = None
    for name in _FIELD_WEIGHT:
        suggestions = searcher.corrector(name).suggest(word, limit=1, maxdist=1, prefix=1)
        if suggestions:
            fixed = str(suggestions[0])
            break
    kept[word] = fixed
    return fixed


def search_trees(searcher: Searcher, text: str, *, limit: int = 10) -> list[TreeHit]:
    """Trees whose title, symptoms or codes hold every word of ``text`` (a typo forgiven),
    best first; nothing when a word is one no tree uses."""
    code = text.strip().lower()
    words: list[Query] = []
    if ":" in code and ("codes", code) in searcher.reader():
        words = [Term("codes", code)]
    else:
        unknown = 0
        for word in text.lower().split():
            for stem in stems(word):
                terms = _word_terms(searcher, stem)
                if not terms:
                    fixed = _corrected(searcher, word)
                    terms = [t for s in stems(fixed or "") for t in _word_terms(searcher, s)]
                if terms:
                    words.append(Or(terms))
                else:
                    unknown += 1
        # A word no tree uses is set aside only from a longer description, and only one:
        # "bluetooth wont pair" is about pairing; "lens error" is not about "error" alone.
        if unknown > 1 or (unknown and len(words) < 2):
            return []
    if not words:
        return []
    return [
        TreeHit(
            key=hit["key"],
            title=hit["title"],
            score=round(hit.score, 3),
            symptoms=hit.get("symptoms") or "",
            models=tuple(filter(None, (hit.get("models") or "").split(","))),
            chassis=tuple(filter(None, (hit.get("chassis") or "").split(","))),
        )
        for hit in searcher.search(And(words), limit=limit)
    ]
