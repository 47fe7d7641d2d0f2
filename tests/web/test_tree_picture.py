"""The authoring page's picture of a tree: layers by depth from the start, problems visible."""

from __future__ import annotations

from app.authoring.picture import NODE_H, draw
from diagnostics import trees


def tree_with_problems() -> trees.Tree:
    tree, _problems = trees.parse(
        {
            "id": "t",
            "title": "T",
            "start": "ask",
            "nodes": {
                "ask": {
                    "kind": "choice",
                    "text": "Blinks?",
                    "options": [{"label": "Yes", "next": "check"}, {"label": "No", "next": "fix"}],
                },
                "check": {"kind": "step", "text": "Check CN1", "next": "ghost"},
                "fix": {"kind": "fix", "text": "Replace the board", "parts": []},
                "lonely": {"kind": "step", "text": "Nobody comes here", "next": "fix"},
            },
        }
    )
    assert tree is not None
    return tree


def test_layers_follow_the_depth_from_the_start() -> None:
    picture = draw(tree_with_problems(), problem_nodes={"lonely"})
    row = {box.id: box.y for box in picture.boxes}
    assert row["ask"] < row["check"] == row["fix"] < row["ghost"]
    # What the start cannot reach goes in a last row of its own, marked.
    assert row["lonely"] == max(row.values())
    boxes = {box.id: box for box in picture.boxes}
    assert boxes["ask"].start
    assert boxes["ghost"].missing
    assert boxes["ghost"].problem
    assert boxes["lonely"].problem
    assert picture.height >= row["lonely"] + NODE_H


def test_no_two_boxes_overlap_and_edges_carry_their_answers() -> None:
    picture = draw(tree_with_problems(), problem_nodes=set())
    places = [(box.x, box.y) for box in picture.boxes]
    assert len(set(places)) == len(places)
    assert {edge.label for edge in picture.edges} >= {"Yes", "No"}
    lonely_to_fix = [e for e in picture.edges if e.back]
    assert len(lonely_to_fix) == 1  # drawn upwards, from the last row to the fix
