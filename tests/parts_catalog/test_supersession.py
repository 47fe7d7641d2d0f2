"""The resolver and the cycle finder, on plain data."""

from __future__ import annotations

from datetime import date

import pytest

from parts_catalog.numbers import normalise, serial_in_range
from parts_catalog.supersession import (
    CONDITIONAL,
    TWO_WAY,
    Edge,
    PartState,
    find_cycles,
    resolve,
)


def edge(old: str, new: str, **kw: object) -> Edge:
    return Edge(old=normalise(old), new=normalise(new), old_number=old, new_number=new, **kw)


def catalogue(edges: list[Edge], **states: str) -> dict:
    successors: dict[str, list[Edge]] = {}
    parts: dict[str, PartState] = {}
    for e in edges:
        successors.setdefault(e.old, []).append(e)
        parts.setdefault(e.old, PartState(e.old_number))
        parts.setdefault(e.new, PartState(e.new_number))
    for number, status in states.items():
        number = number.replace("_", "-")
        listed = status != "unlisted"
        parts[normalise(number)] = PartState(number, "active" if not listed else status, listed)
    return {"successors": successors, "parts": parts}


@pytest.mark.parametrize("spelling", ["1-474-594-11", "1474594-11", "1474 59411", "1.474.594/11"])
def test_spellings_share_one_normal_form(spelling: str) -> None:
    assert normalise(spelling) == "147459411"


def test_a_part_without_successors_is_current() -> None:
    result = resolve("1-474-594-11", **catalogue([], **{"1_474_594_11": "active"}))
    assert result.outcome == "current"
    assert [(i.part_number, i.quantity) for i in result.result] == [("1-474-594-11", 1)]


def test_unknown_number() -> None:
    result = resolve("9-999-999-99", successors={}, parts={})
    assert (result.known, result.outcome, result.result) == (False, "unknown", ())


def test_chain_of_any_length_multiplies_quantities() -> None:
    edges = [
        edge("A-1", "A-2", effective_on=date(2024, 3, 1)),
        edge("A-2", "A-3", quantity=2),
        edge("A-3", "A-4", quantity=3),
    ]
    result = resolve("a1", **catalogue(edges))
    assert result.outcome == "superseded"
    assert [(i.part_number, i.quantity) for i in result.result] == [("A-4", 6)]
    assert [e.new_number for e in result.chain] == ["A-2", "A-3", "A-4"]
    assert result.notes[0] == "A-1 is replaced by A-2 (one-way, from 2024-03-01)."


def test_several_rows_from_one_part_are_a_kit() -> None:
    edges = [edge("K-1", "K-2"), edge("K-1", "K-3", quantity=4)]
    result = resolve("K-1", **catalogue(edges))
    assert result.outcome == "kit"
    assert [(i.part_number, i.quantity) for i in result.result] == [("K-2", 1), ("K-3", 4)]


def test_merge_many_to_one() -> None:
    edges = [edge("M-1", "M-9"), edge("M-2", "M-9")]
    assert resolve("M-1", **catalogue(edges)).result[0].part_number == "M-9"
    assert resolve("M-2", **catalogue(edges)).result[0].part_number == "M-9"


def test_kit_members_that_merge_add_up() -> None:
    edges = [edge("K-1", "K-2"), edge("K-1", "K-3"), edge("K-2", "K-9"), edge("K-3", "K-9")]
    result = resolve("K-1", **catalogue(edges))
    assert [(i.part_number, i.quantity) for i in result.result] == [("K-9", 2)]


def test_chain_ending_in_nla() -> None:
    edges = [edge("N-1", "N-2")]
    result = resolve("N-1", **catalogue(edges, N_2="nla"))
    assert result.outcome == "no_longer_available"
    assert result.result[0].status == "nla"
    assert "N-2 is no longer available and has no replacement." in result.notes


def test_a_part_no_longer_listed_cannot_be_ordered() -> None:
    result = resolve("U-1", **catalogue([], U_1="unlisted"))
    assert result.outcome == "no_longer_available"
    assert "U-1 is no longer listed in the catalogue." in result.notes


def test_serial_ranges_give_every_end_with_its_condition() -> None:
    edges = [edge("S-1", "S-2", serial_from="4012345")]
    result = resolve("S-1", **catalogue(edges))
    assert [(i.part_number, i.condition) for i in result.result] == [
        ("S-2", "serials 4012345 and later"),
        ("S-1", "other serials"),
    ]


@pytest.mark.parametrize(("serial", "expected"), [("4012345", "S-2"), ("999999", "S-1")])
def test_a_serial_picks_its_end(serial: str, expected: str) -> None:
    edges = [edge("S-1", "S-2", serial_from="4012345")]
    result = resolve("S-1", **catalogue(edges), serial=serial)
    assert [i.part_number for i in result.result] == [expected]
    assert result.result[0].condition is None


def test_serials_compare_as_numbers_when_digits_else_as_text() -> None:
    assert serial_in_range("999999", "4012345", None) is False  # 999999 < 4012345 as numbers
    assert serial_in_range("B100", "A999", None) is True
    assert serial_in_range("5", None, "10") is True


def test_conditional_replacement_must_be_confirmed() -> None:
    edges = [edge("C-1", "C-2", interchangeability=CONDITIONAL, note="with bracket 3-100-200-01")]
    result = resolve("C-1", **catalogue(edges))
    assert result.requires_confirmation is True
    assert result.result[0].condition == "only if: with bracket 3-100-200-01"
    assert any("Confirm this applies" in n for n in result.notes)


def test_two_way_still_resolves_forward() -> None:
    result = resolve("T-1", **catalogue([edge("T-1", "T-2", interchangeability=TWO_WAY)]))
    assert result.result[0].part_number == "T-2"
    assert "(two-way)" in result.notes[0]


def test_look_alike_numbers_are_never_linked() -> None:
    # 4-234-704-01 and 4-234-704-11 are the same door for different models: two parts.
    parts = catalogue([], **{"4_234_704_01": "active", "4_234_704_11": "active"})
    assert resolve("4-234-704-01", **parts).result[0].part_number == "4-234-704-01"


def test_find_cycles_names_every_cycle() -> None:
    edges = [("A", "B"), ("B", "C"), ("C", "A"), ("D", "E"), ("E", "D"), ("F", "F"), ("G", "H")]
    cycles = sorted(sorted(c) for c in find_cycles(edges))
    assert cycles == [["A", "B", "C"], ["D", "E"], ["F"]]


def test_find_cycles_on_a_long_chain_does_not_recurse() -> None:
    edges = [(str(n), str(n + 1)) for n in range(100_000)]
    assert find_cycles(edges) == []
    assert len(find_cycles([*edges, ("100000", "0")])[0]) == 100_001


def test_a_very_long_chain_resolves() -> None:
    edges = [edge(f"L-{n}", f"L-{n + 1}") for n in range(3000)]
    result = resolve("L-0", **catalogue(edges))
    assert result.result[0].part_number == "L-3000"
    assert len(result.chain) == 3000


def test_a_superscript_serial_is_text_not_a_number() -> None:
    edges = [edge("S-1", "S-2", serial_from="4012345")]
    result = resolve("S-1", **catalogue(edges), serial="²")
    assert [i.part_number for i in result.result] == ["S-2"]  # "²" sorts after digits as text
