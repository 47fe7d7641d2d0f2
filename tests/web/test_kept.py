"""app.rendering.Kept: what a process keeps of what it rendered stays within its size."""

from __future__ import annotations

from app.rendering import Kept


def test_the_least_recently_used_go_first_when_the_weight_is_over() -> None:
    kept: Kept[str] = Kept(10, len)
    kept.put("a", "aaaa")
    kept.put("b", "bbbb")
    assert kept.get("a") == "aaaa"  # now the most recently used
    kept.put("c", "cccc")
    assert kept.get("b") is None
    assert (kept.get("a"), kept.get("c"), len(kept)) == ("aaaa", "cccc", 2)


def test_a_value_heavier_than_the_whole_is_not_kept_and_pushes_nothing_out() -> None:
    kept: Kept[str] = Kept(10, len)
    kept.put("a", "aaaa")
    kept.put("huge", "x" * 11)
    assert kept.get("huge") is None
    assert kept.get("a") == "aaaa"


def test_putting_a_key_again_replaces_its_weight() -> None:
    kept: Kept[str] = Kept(10, len)
    kept.put("a", "aaaaaaaa")
    kept.put("a", "a")
    kept.put("b", "bbbbbbbbb")
    assert (kept.get("a"), kept.get("b")) == ("a", "bbbbbbbbb")


def test_without_a_weight_it_counts_values() -> None:
    kept: Kept[int] = Kept(2)
    for n in range(3):
        kept.put(n, n)
    assert (kept.get(0), kept.get(1), kept.get(2)) == (None, 1, 2)
