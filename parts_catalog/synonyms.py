"""The synonym list engineers keep: technicians' words for the catalogue's.

Queries read it on every search, so an edit works at once; nothing is reindexed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from parts_catalog.errors import CatalogError
from parts_catalog.models import SearchSynonym
from parts_catalog.search_index import stems
from parts_catalog.sqltypes import utcnow

# A starting list for a new portal, from how technicians ask for parts.
STARTER = (
    ("power supply", "power board"),
    ("psu", "power board"),
    ("smps", "power board"),
    ("wifi", "wireless lan module"),
    ("wlan", "wireless lan module"),
    ("mainboard", "main board"),
    ("motherboard", "main board"),
    ("tcon", "t-con board"),
    ("timing controller", "t-con board"),
    ("backlight strip", "led strip"),
    ("remote control", "remote commander"),
    ("ribbon cable", "ffc cable"),
    ("flex cable", "flexible board"),
    ("image sensor", "cmos sensor board"),
    ("screen", "lcd panel"),
    ("display", "lcd panel"),
    ("amp board", "amplifier board"),
    ("amp", "amplifier board"),
    ("cd drive", "cd mechanism deck"),
    ("disc mechanism", "cd mechanism deck"),
    ("power cord", "ac cord"),
    ("mains lead", "ac cord"),
    ("ear cushion", "ear pad"),
    ("bt module", "bluetooth module"),
    ("battery cover", "door battery"),
    ("ir sensor", "ir receiver board"),
)


class InvalidSynonym(CatalogError):
    pass


def listed(session: Session) -> list[SearchSynonym]:
    return list(session.scalars(select(SearchSynonym).order_by(SearchSynonym.words)))


def add(session: Session, *, words: str, means: str, by: str | None) -> SearchSynonym:
    """Add ``words`` → ``means``.

    :raises InvalidSynonym: when either side is only stop words, they are the same, or the pair
        exists already.
    """
    words, means = " ".join(words.lower().split()), " ".join(means.lower().split())
    if not stems(words) or not stems(means):
        raise InvalidSynonym("Both sides need a word that is not a stop word such as “the”.")
    if stems(words) == stems(means):
        raise InvalidSynonym("The two sides are the same words.")
    exists = session.scalar(
        select(SearchSynonym.id).where(SearchSynonym.words == words, SearchSynonym.means == means)
    )
    if exists is not None:
        raise InvalidSynonym(f"“{words}” already finds “{means}”.")
    synonym = SearchSynonym(words=words, means=means, updated_by=by, updated_at=utcnow())
    session.add(synonym)
    session.flush()
    return synonym


def remove(session: Session, synonym_id: int) -> SearchSynonym | None:
    synonym = session.get(SearchSynonym, synonym_id)
    if synonym is not None:
        session.delete(synonym)
        session.flush()
    return synonym


def load_starter(session: Session) -> int:
    """Add the starter list's pairs that are missing; returns how many were added."""
    have = {(w, m) for w, m in session.execute(select(SearchSynonym.words, SearchSynonym.means))}
    added = 0
    for words, means in STARTER:
        if (words, means) not in have:
            session.add(
                SearchSynonym(words=words, means=means, updated_by=None, updated_at=utcnow())
            )
            added += 1
    session.flush()
    return added
