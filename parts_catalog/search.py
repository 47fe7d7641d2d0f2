"""Searching parts: a Whoosh index of the catalogue as of a release (issue 4's foundation).

Numbers match in every spelling (the normal form is indexed, whole and as a prefix for a
family), descriptions as stemmed words with typo tolerance, and technicians' words reach the
catalogue's through a synonym list ("power supply" finds POWER BOARD).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.query import And, FuzzyTerm, Or, Prefix, Query, Term

from parts_catalog.models import PartVersion, Release
from parts_catalog.numbers import normalise

PARTS_INDEX = "parts"

_words = StemmingAnalyzer()

SCHEMA = Schema(
    key=ID(stored=True, unique=True),  # the part number as the catalogue spells it
    norm=ID(stored=True),
    title=TEXT(analyzer=_words, stored=True),
    category=KEYWORD(stored=True, lowercase=True),
    status=ID(stored=True),
    safety=STORED(),
)


@dataclass(frozen=True)
class Hit:
    key: str
    title: str
    score: float
    why: str  # "number", "number prefix" or "words"


def create_index(index_dir: Path) -> None:
    (index_dir / PARTS_INDEX).mkdir(parents=True, exist_ok=True)
    whoosh_index.create_in(str(index_dir / PARTS_INDEX), SCHEMA)


def index_parts(session: Session, index_dir: Path, *, release: Release) -> int:
    """(Re)write every part listed in ``release`` into the index; returns how many."""
    ix = whoosh_index.open_dir(str(index_dir / PARTS_INDEX))
    rows = session.scalars(select(PartVersion).where(PartVersion.as_of(release.id)))
    count = 0
    with ix.writer() as writer:
        for part in rows:
            writer.update_document(
                key=part.number,
                norm=part.number_norm,
                title=part.description,
                category=part.category or "",
                status=part.status,
                safety=part.safety_critical,
            )
            count += 1
    return count


def _expand(words: Sequence[str], synonyms: Mapping[str, Sequence[str]]) -> Query:
    """Words as a query: each stemmed, a typo allowed in longer ones, synonyms as phrases."""
    text = " ".join(words).lower()
    alternatives: list[Query] = [_words_query(words)]
    for phrase, replacements in synonyms.items():
        if phrase in text:
            for replacement in replacements:
                alternatives.append(_words_query(replacement.split()))
    return Or(alternatives) if len(alternatives) > 1 else alternatives[0]


def _words_query(words: Iterable[str]) -> Query:
    terms: list[Query] = []
    for word in words:
        for token in _words(word):
            terms.append(_typo_tolerant(token.text))
    return And(terms) if terms else Or([])


def _typo_tolerant(stem: str) -> Query:
    """The stem, or one letter off, or two neighbours swapped ("pwoer" for "power"): Whoosh's
    fuzzy terms count a swap as two edits, and two edits let too much in."""
    if len(stem) < 4:
        return Term("title", stem)
    swaps = {stem[:i] + stem[i + 1] + stem[i] + stem[i + 2 :] for i in range(len(stem) - 1)}
    return Or(
        [FuzzyTerm("title", stem, maxdist=1, prefixlength=1)]
        + [Term("title", swap) for swap in sorted(swaps - {stem})]
    )


def search_parts(
    index_dir: Path,
    text: str,
    *,
    limit: int = 20,
    synonyms: Mapping[str, Sequence[str]] | None = None,
) -> list[Hit]:
    """Parts matching ``text``, best first: an exact number, then a number's family, then words."""
    norm = normalise(text)
    ix = whoosh_index.open_dir(str(index_dir / PARTS_INDEX))
    hits: list[Hit] = []
    seen: set[str] = set()
    with ix.searcher() as searcher:
        stages: list[tuple[Query, str]] = []
        if norm and any(ch.isdigit() for ch in norm):
            stages += [(Term("norm", norm), "number"), (Prefix("norm", norm), "number prefix")]
        words = text.split()
        if words:
            stages.append((_expand(words, synonyms or {}), "words"))
        for query, why in stages:
            for result in searcher.search(query, limit=limit):
                key = result["key"]
                if key in seen:
                    continue
                seen.add(key)
                hits.append(Hit(key=key, title=result["title"], score=result.score, why=why))
            if len(hits) >= limit:
                break
    return hits[:limit]
