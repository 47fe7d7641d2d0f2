"""Did you mean: the catalogue's numbers and words nearest to what was typed.

A part or model number typed one character off (a digit read wrong from a label, two neighbours
swapped, a digit missing or doubled) is answered by generating every number one such edit away
and asking the catalogue for all of them at once, on the normal form's index; nothing scans the
catalogue, whatever its size. Words are corrected against the index's own vocabulary and the
synonym list's words (one edit first, then two), so "power suply" becomes "power supply", which
the synonym list turns into the catalogue's POWER BOARD.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from parts_catalog.models import ModelVersion, PartVersion, SearchSynonym, SupersessionVersion
from parts_catalog.search_index import MODEL, PART

#: Why a number was suggested: how it differs from what was typed.
DIGIT, LETTER, SWAP, MISSING, EXTRA = "digit", "letter", "swap", "missing", "extra"
#: Why a query was suggested: its words corrected, its model number corrected, or both.
SPELLING, MODEL_NUMBER, SPELLING_AND_MODEL = "spelling", "model", "spelling_and_model"

#: Shorter numbers are one edit away from too many others to guess between.
MIN_NUMBER_LENGTH = 5
#: Longer ones are not numbers a person types.
MAX_NUMBER_LENGTH = 40
NEAR_LIMIT = 5

_DIGITS = string.digits
_LETTERS = string.ascii_uppercase
# Characters misread from a rating plate or a label, in both directions.
_LOOK_ALIKE = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8"}
# What suggests ordering it today: a current part first, then what supersession still answers.
_STATUS_RANK = {"active": 0, "discontinued": 2, "nla": 3}
_EDIT_RANK = {DIGIT: 0, SWAP: 0, LETTER: 1, MISSING: 1, EXTRA: 1}


def number_edits(norm: str) -> dict[str, str]:
    """Every normal form one edit from ``norm``, with the edit that makes it: a digit or a
    letter changed (a digit only for a digit, a letter for a letter, or a look-alike: 0 and O),
    two neighbours swapped, a character missing, or one too many.

    A few hundred for a catalogue number: small enough for one ``IN`` on an index.
    """
    found: dict[str, str] = {}

    def add(candidate: str, edit: str) -> None:
        if candidate != norm and candidate and candidate not in found:
            found[candidate] = edit

    for i, char in enumerate(norm):
        head, tail = norm[:i], norm[i + 1 :]
        same_kind = _DIGITS if char.isdigit() else _LETTERS if char in _LETTERS else ""
        for other in same_kind:
            add(head + other + tail, DIGIT if char.isdigit() else LETTER)
        if char in _LOOK_ALIKE:
            add(head + _LOOK_ALIKE[char] + tail, DIGIT if char.isdigit() else LETTER)
    for i in range(len(norm) - 1):
        if norm[i] != norm[i + 1]:
            add(norm[:i] + norm[i + 1] + norm[i] + norm[i + 2 :], SWAP)
    for i in range(len(norm)):
        add(norm[:i] + norm[i + 1 :], EXTRA)
    for i in range(len(norm) + 1):
        for char in _DIGITS + _LETTERS:
            add(norm[:i] + char + norm[i:], MISSING)
    return found


@dataclass(frozen=True)
class NearNumber:
    """A catalogue number one edit from what was typed."""

    kind: str  # part or model
    number: str  # as the catalogue spells it
    title: str  # the part's description, the model's name
    status: str  # a part's status (active, discontinued, nla); "model" for a model
    superseded: bool  # a part that something replaces
    edit: str  # DIGIT, LETTER, SWAP, MISSING or EXTRA

    @property
    def rank(self) -> tuple[int, int, int, int, str]:
        return (
            self.superseded,
            _STATUS_RANK.get(self.status, 1),
            _EDIT_RANK[self.edit],
            self.kind != MODEL,  # a model named in full is rarer than a part one digit off
            self.number,
        )


def near_numbers(
    session: Session,
    norm: str,
    *,
    release_id: int,
    kinds: Iterable[str] = (PART, MODEL),
    limit: int = NEAR_LIMIT,
) -> list[NearNumber]:
    """The parts and models of the release one edit from ``norm``, best first: current parts
    before superseded and discontinued ones, a digit misread or a swap before a digit missing.

    One query over the normal form's index of each table; ``norm`` too short to guess from
    (fewer than ``MIN_NUMBER_LENGTH`` characters, or no digit) gives nothing.
    """
    wanted = set(kinds)
    if not MIN_NUMBER_LENGTH <= len(norm) <= MAX_NUMBER_LENGTH or not any(
        ch.isdigit() for ch in norm
    ):
        return []
    edits = number_edits(norm)
    candidates = sorted(edits)
    selects: list[Select[Any, Any, Any, Any, Any, Any]] = []
    if PART in wanted:
        old = aliased(SupersessionVersion)
        superseded = exists().where(old.old_norm == PartVersion.number_norm, old.as_of(release_id))
        selects.append(
            select(
                literal(PART).label("kind"),
                PartVersion.number_norm,
                PartVersion.number,
                PartVersion.description.label("title"),
                PartVersion.status,
                superseded.label("superseded"),
            ).where(PartVersion.number_norm.in_(candidates), PartVersion.as_of(release_id))
        )
    if MODEL in wanted:
        selects.append(
            select(
                literal(MODEL).label("kind"),
                ModelVersion.number_norm,
                ModelVersion.number,
                ModelVersion.name.label("title"),
                literal("model").label("status"),
                literal(False).label("superseded"),
            ).where(ModelVersion.number_norm.in_(candidates), ModelVersion.as_of(release_id))
        )
    if not selects:
        return []
    query = selects[0] if len(selects) == 1 else union_all(*selects)
    found = [
        NearNumber(
            kind=kind,
            number=number,
            title=title or number,
            status=status,
            superseded=bool(superseded),
            edit=edits[number_norm],
        )
        for kind, number_norm, number, title, status, superseded in session.execute(query)
    ]
    return sorted(found, key=lambda n: n.rank)[:limit]


# --- words ---------------------------------------------------------------------------------------


def synonym_words(session: Session) -> list[str]:
    """The words of the synonym list, both sides, sorted: technicians' words ("supply", "psu")
    are as good a correction as the catalogue's own."""
    words: set[str] = set()
    for said, means in session.execute(select(SearchSynonym.words, SearchSynonym.means)):
        for phrase in (said, means):
            words.update(w for w in phrase.lower().split() if w.isalpha())
    return sorted(words)


def edit_distance(a: str, b: str, *, limit: int = 2) -> int:
    """Edits (a character changed, added or dropped, or two neighbours swapped) from ``a`` to
    ``b``; anything beyond ``limit`` is ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def nearest_words(
    word: str, vocabulary: Sequence[tuple[str, int]], *, maxdist: int = 2, limit: int = 2
) -> list[str]:
    """The words of ``vocabulary`` (word, how common) nearest to ``word``: fewest edits, then
    the commonest. The first letter must match: it is the one people rarely get wrong, and it
    keeps "mane" from becoming "lane"."""
    scored = []
    for candidate, frequency in vocabulary:
        if candidate == word or not candidate or candidate[0] != word[0]:
            continue
        distance = edit_distance(word, candidate, limit=maxdist)
        if distance <= maxdist:
            scored.append((distance, -frequency, candidate))
    return [candidate for _d, _f, candidate in sorted(scored)[:limit]]
