"""Finding published notices: by the words they say and by the numbers they target (a part
reaching its whole chain, a model by the globs and product line a notice names).

A plain database query: notices are few (hundreds, not the catalogue's millions), so the search
index is not needed for them.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import BindParameter, ColumnElement, Select, String, and_, bindparam, or_, select
from sqlalchemy.orm import Session, selectinload

from app.notices import services
from app.notices.models import Notice, NoticeStatus, NoticeTarget
from parts_catalog.numbers import normalise

MAX_WORDS = 8


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _says(pattern: BindParameter[str]) -> ColumnElement[bool]:
    return or_(
        *(
            column.ilike(pattern, escape="\\")
            for column in (
                Notice.reference,
                Notice.title,
                Notice.what_changes,
                Notice.why,
                Notice.what_to_do,
                Notice.contact,
            )
        ),
        Notice.targets.any(NoticeTarget.value.ilike(pattern, escape="\\")),
    )


@cache
def _saying(count: int) -> Select[Notice]:
    """Published notices that say each of ``count`` words (bound as ``word0``...): built once
    for each count, since building it cost more than running it on a few hundred notices."""
    return (
        select(Notice)
        .where(
            Notice.status == NoticeStatus.PUBLISHED,
            and_(*(_says(bindparam(f"word{i}", type_=String)) for i in range(count))),
        )
        .options(selectinload(Notice.targets))
        .limit(bindparam("limit"))
    )


def find(session: Session, text: str, *, limit: int = 50) -> list[Notice]:
    """Published notices that say every word of ``text``, or that are about the part (any
    number of its chain) or the model it names; safety first, newest first."""
    words = text.split()[:MAX_WORDS]
    if not words:
        return []
    patterns = {f"word{i}": _like(word) for i, word in enumerate(words)}
    by_words = list(session.scalars(_saying(len(words)), {**patterns, "limit": limit}))
    by_numbers: list[Notice] = []
    if len(words) == 1 and normalise(words[0]):
        # One word that may be a number: the notices about its part chain, or about its model.
        by_numbers = services.about_number(session, words[0])
    found = {n.id: n for n in by_numbers + by_words}
    ordered = sorted(
        found.values(),
        key=lambda n: (not n.safety, -(n.published_at.timestamp() if n.published_at else 0)),
    )
    return ordered[:limit]
