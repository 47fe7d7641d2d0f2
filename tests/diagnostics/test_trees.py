"""The tree format and validation: every problem named, the document written back unchanged."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from diagnostics import services, trees, validation, walk
from diagnostics.errors import InvalidAnswer, InvalidTree
from diagnostics.trees import Problem

DEMO = Path(__file__).parents[2] / "diagnostics" / "demo_trees"

TREE: dict[str, Any] = {
    "id": "tv-red-led-blinks",
    "title": "Red standby LED blinks, no picture",
    "product_line": "TV",
    "models": ["KDL-*", "XBR-55X900E"],
    "chassis": ["GN2"],
    "codes": ["blink:2", "blink:6"],
    "symptoms": ["no picture", "standby light blinking"],
    "start": "count",
    "nodes": {
        "count": {
            "kind": "choice",
            "text": "How many times does it blink?",
            "options": [{"label": "2", "next": "psu"}, {"label": "6", "next": "backlight"}],
        },
        "psu": {
            "kind": "measure",
            "text": "Measure 12 V at CN6101 pin 1",
            "unit": "V",
            "plausible": [0, 30],  # 121 typed for 12.1 is asked again
            "ranges": [{"below": 11.4, "next": "replace-psu"}, {"from": 11.4, "next": "escalate"}],
        },
        "backlight": {"kind": "step", "text": "Check CN7001", "next": "replace-psu"},
        "replace-psu": {
            "kind": "fix",
            "text": "Replace the power board",
            "parts": [{"part": "1-474-594-11", "qty": 1}],
            "labour_minutes": 30,
        },
        "escalate": {"kind": "escalate", "text": "Send the measurements to engineering"},
    },
}


def problems_of(document: dict[str, Any]) -> list[str]:
    tree, problems = trees.parse(document)
    if tree is not None:
        problems += validation.validate(tree)
    return [str(p) for p in problems]


def changed(**nodes: Any) -> dict[str, Any]:
    document = copy.deepcopy(TREE)
    for node_id, node in nodes.items():
        if node is None:
            del document["nodes"][node_id]
        else:
            document["nodes"][node_id] = node
    return document


def test_the_contracts_example_is_valid_and_round_trips() -> None:
    assert problems_of(TREE) == []
    for fmt in ("yaml", "json"):
        text = trees.dump(trees.to_document_dict(TREE), fmt=fmt)
        again = services.read(text)
        assert again.document == TREE
        assert trees.dump(again.document, fmt=fmt) == text


@pytest.mark.parametrize("path", sorted(DEMO.glob("*.yaml")), ids=lambda p: p.stem)
def test_demo_trees_are_valid_and_round_trip(path: Path) -> None:
    tree = services.read(path.read_text(encoding="utf-8"))
    assert services.read(trees.dump(tree.document)).document == tree.document
    assert tree.document == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_a_missing_start_and_a_missing_next_are_named() -> None:
    document = changed(backlight={"kind": "step", "text": "Check", "next": "nowhere"})
    document["start"] = "begin"
    found = problems_of(document)
    assert "start: “begin” is not a node" in found
    assert "nodes.backlight: next “nowhere” is not a node" in found


def test_unreachable_nodes_are_named() -> None:
    found = problems_of(changed(orphan={"kind": "escalate", "text": "Nobody comes here"}))
    assert found == ["nodes.orphan: cannot be reached from start"]


def test_cycles_are_named() -> None:
    found = problems_of(changed(backlight={"kind": "step", "text": "Check", "next": "count"}))
    assert any(p.startswith("nodes.count: cycle: count → backlight → count") for p in found)


def test_a_path_that_ends_without_a_terminal_is_named() -> None:
    found = problems_of(changed(backlight={"kind": "step", "text": "Check"}))
    assert "nodes.backlight.next: a step needs “next”" in found
    dead = changed(psu={"kind": "measure", "text": "M", "ranges": [{"next": "gone"}]})
    assert "nodes.psu: a path ends here without a fix, an exchange or an escalation" in (
        problems_of(dead)
    )


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        (
            [{"below": 11, "next": "escalate"}, {"from": 11.4, "next": "escalate"}],
            "gap: no range for 11 to below 11.4",
        ),
        (
            [{"below": 12, "next": "escalate"}, {"from": 11.4, "next": "escalate"}],
            "ranges overlap: “below 12 V” and “11.4 V or more”",
        ),
        ([{"from": 0, "next": "escalate"}], "no range for values below 0"),
        ([{"below": 5, "next": "escalate"}], "no range for 5 or more"),
        ([{"from": 5, "below": 3, "next": "escalate"}], "from 5 is not below 3"),
    ],
)
def test_measurement_ranges_must_cover_every_number_once(
    ranges: list[dict[str, Any]], expected: str
) -> None:
    node = {"kind": "measure", "text": "Measure", "unit": "V", "ranges": ranges}
    assert any(expected in p for p in problems_of(changed(psu=node))), problems_of(
        changed(psu=node)
    )


def test_structural_problems_are_all_named_at_once() -> None:
    document = changed(
        count={"kind": "choice", "text": "Q", "options": []},
        psu={"kind": "gauge", "text": "M"},
        backlight={"kind": "step", "next": "replace-psu"},
        **{"replace-psu": {"kind": "fix", "text": "F", "parts": [{"part": "1", "qty": 0}]}},
    )
    document["codes"] = ["blink6"]
    document["colour"] = "red"
    found = problems_of(document)
    assert sorted(found) == sorted(
        [
            "colour: unknown field (expected one of id, title, product_line, models, chassis, "
            "codes, symptoms, start, nodes)",
            "codes: “blink6” is not scheme:value (e.g. blink:6)",
            "nodes.psu.kind: “gauge” is not one of choice, measure, step, fix, exchange, escalate",
            "nodes.backlight: “text” is missing",
            "nodes.replace-psu.parts[0].qty: must be a whole number of at least 1",
            # Incomplete rather than malformed: found by validation, in the same report.
            "nodes.count.options: a choice needs a list of options",
            "nodes.count: a path ends here without a fix, an exchange or an escalation",
        ]
    )


def test_syntax_errors_have_a_line_and_column() -> None:
    with pytest.raises(InvalidTree) as caught:
        services.read("id: x\ntitle: a: b\n", name="tree.yaml: ")
    assert str(caught.value.problems[0]).startswith("tree.yaml: line 2, column 9: not valid YAML")


def test_unknown_parts_are_named() -> None:
    tree = services.read(trees.dump(TREE))
    found = validation.validate(tree, unknown_parts=lambda numbers: set(numbers))
    assert found == [
        Problem("nodes.replace-psu.parts", "part 1-474-594-11 is not in the catalogue")
    ]


# --- the walk ------------------------------------------------------------------------------------


def test_the_walk_follows_answers_and_goes_back() -> None:
    tree = services.read(trees.dump(TREE))
    answers: list[walk.Answer] = []
    assert walk.position(tree, answers) == "count"
    answers.append(walk.answer_for(tree.nodes["count"], option="2", value=None, proceed=False))
    assert walk.position(tree, answers) == "psu"
    answers.append(walk.answer_for(tree.nodes["psu"], option=None, value="10,8", proceed=False))
    assert walk.position(tree, answers) == "replace-psu"
    assert [s.answer for s in walk.path(tree, answers)] == ["2", "10.8 V"]
    assert walk.position(tree, answers[:-1]) == "psu"
    answers[-1] = walk.Answer("psu", value=11.4)  # the boundary belongs to "from"
    assert walk.position(tree, answers) == "escalate"


@pytest.mark.parametrize(
    ("node", "kwargs", "message"),
    [
        ("count", {"option": "3"}, "“3” is not an answer here; choose one of: “2”, “6”."),
        ("count", {"value": 5}, "This question needs one of: “2”, “6”."),
        ("psu", {"value": "twelve"}, "“twelve” is not a number in V."),
        ("psu", {"option": "2"}, "This step needs a measured value in V."),
        ("psu", {"value": "nan"}, "The value must be a finite number."),
        ("backlight", {"value": 3}, "This step is done by confirming it (continue)."),
        ("escalate", {"proceed": True}, "The walk has ended here"),
    ],
)
def test_wrong_answers_are_refused(node: str, kwargs: dict[str, Any], message: str) -> None:
    tree = services.read(trees.dump(TREE))
    arguments = {"option": None, "value": None, "proceed": False, **kwargs}
    with pytest.raises(InvalidAnswer, match=message.split("(")[0][:30]):
        walk.answer_for(tree.nodes[node], **arguments)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("below: 1e400", "must be a number"),  # YAML 1.1 reads it as text
        ("below: 1" + "0" * 400, "must be a finite number"),
        ("below: .nan", "only text, numbers, lists and mappings"),
        ("below: .inf", "only text, numbers, lists and mappings"),
    ],
)
def test_numbers_that_cannot_be_measured_are_refused(text: str, expected: str) -> None:
    source = trees.dump(TREE).replace("below: 11.4", text, 1)
    with pytest.raises(InvalidTree) as caught:
        services.read(source)
    assert any(expected in str(p) for p in caught.value.problems), caught.value.problems


def test_odd_values_are_problems_not_crashes() -> None:
    document = copy.deepcopy(TREE)
    document["id"] = "x" * 76
    document["title"] = "t" * 201
    document["codes"] = ["blink:" + "9" * 40]
    document["nodes"]["count"]["options"][0]["colour"] = "red"
    document["nodes"]["count"]["options"][1]["label"] = "l" * 201
    document["nodes"]["psu"]["ranges"][0]["to"] = 3
    document["nodes"]["replace-psu"]["parts"][0]["note"] = "x"
    found = problems_of(document)
    for expected in (
        "id: 1 to 75 lower-case letters",
        "title: at most 200 characters",
        "codes: at most 40 characters",
        "nodes.count.options[0].colour: unknown field (expected label, next)",
        "nodes.count.options[1].label: at most 200 characters",
        "nodes.psu.ranges[0].to: unknown field (expected below, from, next)",
        "nodes.replace-psu.parts[0].note: unknown field (expected part, qty)",
    ):
        assert any(p.startswith(expected) for p in found), (expected, found)
    # A date is text, as in JSON, not a crash when stored.
    dated = trees.dump(TREE).replace("unit: V", "unit: 2024-01-01")
    assert services.read(dated).nodes["psu"].unit == "2024-01-01"


def test_every_kind_of_problem_is_reported_together() -> None:
    document = copy.deepcopy(TREE)
    document["nodes"]["backlight"]["next"] = "count"  # a cycle
    document["nodes"]["psu"]["kind"] = "gauge"  # a structural problem
    _tree, problems = services.examine(trees.dump(document))
    found = [str(p) for p in problems]
    assert any("is not one of choice" in p for p in found)
    assert any("cycle: count → backlight → count" in p for p in found)
    assert not any("“psu” is not a node" in p for p in found)  # the broken node is not noise
