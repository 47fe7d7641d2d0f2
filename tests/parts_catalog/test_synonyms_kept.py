"""The synonym list as stems is kept by the process, and read again as soon as it changes: an
engineer's change works at once (README), on every worker."""

from __future__ import annotations

from sqlalchemy.orm import Session

from parts_catalog import search, synonyms


def test_the_list_is_kept_until_it_changes(session: Session) -> None:
    first = search.load_synonyms(session)
    assert search.load_synonyms(session) is first  # not read and stemmed again


def test_an_addition_and_a_removal_work_at_once(session: Session) -> None:
    zapper = search.stems("zapper")
    search.load_synonyms(session)
    added = synonyms.add(session, words="zapper", means="remote commander", by=None)
    assert search.load_synonyms(session)[zapper] == [search.stems("remote commander")]
    synonyms.remove(session, added.id)
    assert zapper not in search.load_synonyms(session)


def test_a_pair_replaced_by_another_is_seen(session: Session) -> None:
    """One removed and one added: the count is the same, and the new row may take the old id."""
    old = synonyms.add(session, words="clicker", means="remote commander", by=None)
    assert search.stems("clicker") in search.load_synonyms(session)
    synonyms.remove(session, old.id)
    synonyms.add(session, words="doofer", means="remote commander", by=None)
    now = search.load_synonyms(session)
    assert search.stems("clicker") not in now
    assert now[search.stems("doofer")] == [search.stems("remote commander")]
