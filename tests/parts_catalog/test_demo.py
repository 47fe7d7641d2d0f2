"""The demo catalogue shows every kind of supersession, and loads once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy.orm import Session

from parts_catalog import demo
from parts_catalog.services import release_for, resolve_number


def test_the_demo_catalogue_has_every_kind_of_change() -> None:
    first, second = demo.build()
    assert len(second.parts) > 2000
    kinds = Counter(e["interchangeability"] for e in second.supersessions)
    assert {"one_way", "two_way", "conditional"} <= set(kinds)
    olds = Counter(e["old_part_number"] for e in second.supersessions)
    news = Counter(e["new_part_number"] for e in second.supersessions)
    assert any(n > 1 for n in olds.values())  # kits
    assert any(n > 1 for n in news.values())  # merges
    assert any(p["status"] == "nla" for p in second.parts.values())
    assert len(first.supersessions) < len(second.supersessions)
    assert demo.build()[1].parts == second.parts  # deterministic


def test_demo_loads_both_releases_once(session: Session, tmp_path: Path) -> None:
    reports = demo.load(session, tmp_path)
    assert [r.label for r in reports] == [demo.FIRST, demo.SECOND]
    assert demo.load(session, tmp_path) == []
    release = release_for(session)
    answer = resolve_number(session, "1-474-594-11", release=release)
    assert [i.part_number for i in answer.result] == ["1-474-594-12"]
    # Look-alike numbers are different parts, never linked.
    door = resolve_number(session, "4-234-704-01", release=release)
    assert door.outcome == "current"
