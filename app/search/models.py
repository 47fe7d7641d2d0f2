"""What searches missed, counted by week: the words only, never who asked."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models import Base

#: How a missed query looks: a number (every token has a digit), words (none has), or both.
NUMBER, WORDS, MIXED = "number", "words", "mixed"
MISS_KINDS = (NUMBER, WORDS, MIXED)
QUERY_LENGTH = 200


class SearchMiss(Base):
    """How many times ``query`` found nothing in the week starting ``week_starts_on``.

    The key is the week and the query: no user, centre, address or time of day, and no row
    id that would order the misses in time. Each miss adds one in place (an upsert on the
    key), so misses at the same moment are all counted.
    """

    __tablename__ = "search_misses"

    week_starts_on: Mapped[date] = mapped_column(Date, primary_key=True)  # a Monday
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    query: Mapped[str] = mapped_column(String(QUERY_LENGTH), primary_key=True)
    count: Mapped[int] = mapped_column(default=1)

    def __repr__(self) -> str:
        return f"<SearchMiss {self.week_starts_on} {self.kind} {self.query!r} ×{self.count}>"
