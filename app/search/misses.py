"""Searches that found nothing, counted by week, for the engineers who keep the synonyms and the
catalogue's descriptions.

Only the words are kept: no user, centre, address or time of day. What people paste into a
search box can still be personal (an email address, a customer's phone number), so before a
query is counted it is scrubbed:

- a token with ``@`` in it (an email address, a handle) is dropped, and so is one with ten
  digits in a row once a phone number's ``- . ( )`` are taken out (``tel:06-12-34-56-78``);
- a run of tokens made only of digits and a phone number's ``+ ( ) - .`` is dropped when it
  starts with ``+`` or holds ten digits or more: part numbers of that shape (``1-474-594-11``,
  ``1474 594 11``) have nine digits or fewer, or letters (``A-2072-533-A``); a catalogue
  whose numbers are ten bare digits loses those misses rather than risk keeping a phone number;
- what is left is lower-cased with its spaces collapsed; a number (every token with a digit) is
  kept in the catalogue's normal form, so that its spellings count as one.

A query with nothing left is not counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.search.models import MIXED, NUMBER, QUERY_LENGTH, WORDS, SearchMiss
from parts_catalog.numbers import normalise

#: Weeks the engineers' page shows: this one and the ones before it.
WEEKS_SHOWN = 4
TOP = 25  # misses shown per week
#: ``flask --app wsgi search prune-misses`` keeps this many weeks by default.
KEEP_WEEKS = 26

_PHONE_TOKEN = re.compile(r"[0-9+().\-]+")
_NUMBER_TOKEN = re.compile(r"[0-9a-z./\-]+")  # a part or model number's characters
_PHONE_DIGITS = 10
_PHONE_PUNCTUATION = str.maketrans("", "", "-.()")
_DIGIT_RUN = re.compile(rf"[0-9]{{{_PHONE_DIGITS}}}")


def week_of(day: date) -> date:
    """The Monday of ``day``'s week: the weeks of the miss log."""
    return day - timedelta(days=day.weekday())


def scrub(text: str) -> tuple[str, str] | None:
    """``text`` as it is counted (see the module's notes), and its kind: ``number``, ``words``
    or ``mixed``; ``None`` when nothing is left to count."""
    tokens = [
        t
        for t in text.lower().split()
        if "@" not in t and not _DIGIT_RUN.search(t.translate(_PHONE_PUNCTUATION))
    ]
    kept: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:  # "" ends the last run
        if token and _PHONE_TOKEN.fullmatch(token):
            run.append(token)
            continue
        digits = sum(ch.isdigit() for t in run for ch in t)
        if run and not (run[0].startswith("+") or digits >= _PHONE_DIGITS):
            kept += run
        run = []
        if token:
            kept.append(token)
    kept = [t for t in kept if any(ch.isalnum() for ch in t)]
    if not kept:
        return None
    with_digits = [any(ch.isdigit() for ch in t) for t in kept]
    if all(with_digits) and all(_NUMBER_TOKEN.fullmatch(t) for t in kept):
        return normalise("".join(kept))[:QUERY_LENGTH], NUMBER
    kind = MIXED if any(with_digits) else WORDS
    return " ".join(kept)[:QUERY_LENGTH], kind


def record(session: Session, text: str, *, on: date) -> SearchMiss | None:
    """Count one miss of ``text`` in the week of ``on``; returns the row, or ``None`` when the
    scrubbed text is empty. One statement that inserts or adds one (the database decides),
    so misses at the same moment are each counted."""
    scrubbed = scrub(text)
    if scrubbed is None:
        return None
    query, kind = scrubbed
    week = week_of(on)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(SearchMiss).values(week_starts_on=week, kind=kind, query=query, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["week_starts_on", "kind", "query"],
        set_={"count": SearchMiss.count + 1},
    )
    session.execute(statement)
    return session.get(SearchMiss, (week, kind, query), populate_existing=True)


@dataclass(frozen=True)
class Week:
    starts_on: date
    misses: list[SearchMiss]
    total: int  # misses that week, all queries


def commonest(
    session: Session, *, today: date, weeks: int = WEEKS_SHOWN, top: int = TOP
) -> list[Week]:
    """The ``top`` commonest misses of this week and each of the ``weeks - 1`` before it,
    newest week first."""
    found = []
    for back in range(weeks):
        week = week_of(today) - timedelta(weeks=back)
        rows = list(
            session.scalars(
                select(SearchMiss)
                .where(SearchMiss.week_starts_on == week)
                .order_by(SearchMiss.count.desc(), SearchMiss.query)
                .limit(top)
            )
        )
        total = session.scalar(
            select(func.coalesce(func.sum(SearchMiss.count), 0)).where(
                SearchMiss.week_starts_on == week
            )
        )
        found.append(Week(starts_on=week, misses=rows, total=int(total or 0)))
    return found


def prune(session: Session, *, today: date, keep_weeks: int = KEEP_WEEKS) -> int:
    """Delete the weeks older than the newest ``keep_weeks``; returns how many rows went."""
    cutoff = week_of(today) - timedelta(weeks=keep_weeks - 1)
    result = session.execute(
        delete(SearchMiss)
        .where(SearchMiss.week_starts_on < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
