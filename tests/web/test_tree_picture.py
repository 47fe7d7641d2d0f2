"""The authoring page's picture of a tree: layers from the start, problems visible, and nothing
hidden: no box over another, no label over a box or a label, no edge behind a node."""

from __future__ import annotations

from pathlib import Path

from hypothesis import assume, given
from hypothesis import strategies as st

from app.authoring.picture import NODE_H, Picture, Rect, draw
from diagnostics import trees
from tests.properties.budget import TREES
from tests.properties.trees import node_ids, tree_documents

DEMO_TREES = Path(trees.__file__).parent / "demo_trees"


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


# --- nothing hides anything: boxes, labels and edges ---------------------------------------------


def _crosses(start: tuple[float, float], end: tuple[float, float], box: Rect) -> bool:
    """Whether the segment enters the box (Liang-Barsky clipping)."""
    (x1, y1), (x2, y2) = start, end
    dx, dy = x2 - x1, y2 - y1
    low, high = 0.0, 1.0
    for p, q in (
        (-dx, x1 - box.x),
        (dx, box.x + box.w - x1),
        (-dy, y1 - box.y),
        (dy, box.y + box.h - y1),
    ):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            low = max(low, q / p)
        else:
            high = min(high, q / p)
        if low > high:
            return False
    return True


def _grown(rect: Rect, by: float = 1.5) -> Rect:
    """A box with room for the strokes: an edge grazing its border is behind it too."""
    return Rect(rect.x - by, rect.y - by, rect.w + 2 * by, rect.h + 2 * by)


def assert_nothing_hidden(picture: Picture) -> None:
    boxes = {box.id: box.rect for box in picture.boxes}
    assert len(boxes) == len(picture.boxes)
    labels = [e.label_box for e in picture.edges if e.label_box is not None]
    canvas = Rect(0, 0, picture.width, picture.height)
    for rect in [*boxes.values(), *labels]:
        assert canvas.x <= rect.x, rect
        assert rect.x + rect.w <= canvas.w, rect
        assert canvas.y <= rect.y, rect
        assert rect.y + rect.h <= canvas.h, rect
    placed = list(boxes.items())
    for i, (a, rect_a) in enumerate(placed):
        for b, rect_b in placed[i + 1 :]:
            assert not rect_a.overlaps(rect_b), f"boxes {a} and {b} overlap"
    for i, label in enumerate(labels):
        for node_id, rect in placed:
            assert not label.overlaps(rect), f"a label covers {node_id}"
        for other in labels[i + 1 :]:
            assert not label.overlaps(other), "two labels overlap"
    for edge in picture.edges:
        assert edge.points, edge
        others = [(n, r) for n, r in placed if n not in (edge.source, edge.target)]
        for start, end in edge.segments():
            for node_id, rect in others:
                assert not _crosses(start, end, _grown(rect)), (
                    f"{edge.source} → {edge.target} passes behind {node_id}"
                )
            for label in labels:
                if label is not edge.label_box:
                    assert not _crosses(start, end, label), (
                        f"{edge.source} → {edge.target} crosses a label"
                    )
        # The edge starts at its source's box and ends, arrow first, at its target's.
        assert _on_border(edge.points[0], boxes[edge.source]), edge
        assert _on_border(edge.points[-1], boxes[edge.target]), edge


def _on_border(point: tuple[float, float], rect: Rect) -> bool:
    x, y = point
    inside = (
        rect.x - 1e-6 <= x <= rect.x + rect.w + 1e-6
        and rect.y - 1e-6 <= y <= rect.y + rect.h + 1e-6
    )
    edges = min(
        abs(x - rect.x), abs(x - rect.x - rect.w), abs(y - rect.y), abs(y - rect.y - rect.h)
    )
    return inside and edges < 1e-6


def test_no_demo_tree_hides_anything() -> None:
    files = sorted(DEMO_TREES.glob("*.yaml"))
    assert files
    for path in files:
        document, problems = trees.load_text(path.read_text(encoding="utf-8"), name=path.name)
        assert document is not None, problems
        tree, _problems = trees.parse(document)
        assert tree is not None
        picture = draw(tree, problem_nodes=set())
        assert_nothing_hidden(picture)
        assert {box.id for box in picture.boxes} == set(tree.nodes)
        wanted = sum(len(n.successors()) for n in tree.nodes.values())
        assert len(picture.edges) <= wanted  # two answers to one node share an edge
        assert crossings(picture) == 0, path.name  # each of them can be drawn without


def crossings(picture: Picture) -> int:
    """Pairs of edges whose segments cross (touching at a shared end does not count)."""

    def side(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    segments = [(i, s) for i, edge in enumerate(picture.edges) for s in edge.segments()]
    count = 0
    for k, (i, (p1, p2)) in enumerate(segments):
        for j, (p3, p4) in segments[k + 1 :]:
            sides = (side(p3, p4, p1), side(p3, p4, p2), side(p1, p2, p3), side(p1, p2, p4))
            if i != j and 0 not in sides:
                count += (sides[0] > 0) != (sides[1] > 0) and (sides[2] > 0) != (sides[3] > 0)
    return count


def test_a_wide_and_deep_tree_hides_nothing_and_runs_straight() -> None:
    """Twelve answers at the top, each a chain eight deep, with shortcuts from each chain to
    the last question of the next: long edges cross several layers beside boxes."""
    nodes: dict[str, dict[str, object]] = {
        "top": {
            "kind": "choice",
            "text": "Which of the twelve symptoms is it?",
            "options": [{"label": f"symptom {b}", "next": f"b{b}-0"} for b in range(12)],
        },
        "end": {"kind": "escalate", "text": "Send everything to engineering"},
    }
    for b in range(12):
        for d in range(8):
            here = f"b{b}-{d}"
            down = f"b{b}-{d + 1}" if d < 7 else "end"
            if d % 3 == 1:
                nodes[here] = {
                    "kind": "choice",
                    "text": f"Does test {d} of branch {b} pass?",
                    "options": [
                        {"label": "passes", "next": down},
                        {"label": "fails", "next": f"b{(b + 1) % 12}-7"},
                    ],
                }
            else:
                nodes[here] = {"kind": "step", "text": f"Do step {d} of branch {b}", "next": down}
    tree, problems = trees.parse({"id": "wide", "title": "Wide", "start": "top", "nodes": nodes})
    assert tree is not None, problems
    picture = draw(tree, problem_nodes=set())
    assert_nothing_hidden(picture)
    rows = {box.id: box.y for box in picture.boxes}
    assert rows["top"] < rows["b0-0"] < rows["b0-7"] < rows["end"]
    # A chain with nothing else in its way runs straight down: one x for each of its steps.
    xs = {box.id: box.x for box in picture.boxes}
    assert any(xs[f"b{b}-2"] == xs[f"b{b}-3"] for b in range(12))


def test_cycles_loops_and_missing_nodes_are_drawn_clear() -> None:
    tree, _problems = trees.parse(
        {
            "id": "t",
            "title": "T",
            "start": "ask",
            "nodes": {
                "ask": {
                    "kind": "choice",
                    "text": "Blinks?",
                    "options": [
                        {"label": "Yes", "next": "check"},
                        {"label": "Again", "next": "ask"},
                        {"label": "No", "next": "ghost"},
                    ],
                },
                "check": {"kind": "step", "text": "Check CN1", "next": "back"},
                "back": {
                    "kind": "choice",
                    "text": "Did it help?",
                    "options": [{"label": "no", "next": "ask"}, {"label": "yes", "next": "fix"}],
                },
                "fix": {"kind": "fix", "text": "Replace the board", "parts": []},
                "lonely": {"kind": "step", "text": "Nobody comes here", "next": "orphan"},
                "orphan": {"kind": "step", "text": "Nor here", "next": "check"},
            },
        }
    )
    assert tree is not None
    picture = draw(tree, problem_nodes={"lonely"})
    assert_nothing_hidden(picture)
    back = {(e.source, e.target) for e in picture.edges if e.back}
    assert back == {("ask", "ask"), ("back", "ask"), ("orphan", "check")}


@st.composite
def drafts(draw: st.DrawFn) -> dict[str, object]:
    """Any graph a draft can be: cycles, answers that lead back to their own question,
    names that are not nodes, nodes the start cannot reach, long texts and labels."""
    ids = draw(st.lists(node_ids, min_size=1, max_size=24, unique=True))
    targets = st.sampled_from(ids) | node_ids
    nodes: dict[str, object] = {}
    for node_id in ids:
        kind = draw(st.sampled_from(["choice", "step", "fix", "escalate"]))
        text = draw(st.text(min_size=1, max_size=120).filter(str.strip))
        if kind == "choice":
            labels = draw(
                st.lists(
                    st.text(min_size=1, max_size=40).filter(str.strip),
                    min_size=1,
                    max_size=5,
                    unique=True,
                )
            )
            nodes[node_id] = {
                "kind": "choice",
                "text": text,
                "options": [{"label": label, "next": draw(targets)} for label in labels],
            }
        elif kind == "step":
            nodes[node_id] = {"kind": "step", "text": text, "next": draw(targets)}
        else:
            nodes[node_id] = {
                "kind": kind,
                "text": text,
                **({"parts": []} if kind == "fix" else {}),
            }
    start = draw(st.sampled_from(ids) | node_ids)
    return {"id": "draft", "title": "Draft", "start": start, "nodes": nodes}


@TREES
@given(document=drafts())
def test_no_draft_hides_anything(document: dict[str, object]) -> None:
    tree, _problems = trees.parse(document)
    assume(tree is not None)
    assert tree is not None
    assert_nothing_hidden(draw(tree, problem_nodes=set(tree.nodes)))


@TREES
@given(document=tree_documents(max_nodes=40))
def test_no_valid_tree_hides_anything(document: dict[str, object]) -> None:
    tree, problems = trees.parse(document)
    assert tree is not None, problems
    picture = draw(tree, problem_nodes=set())
    assert_nothing_hidden(picture)
    assert not any(e.back for e in picture.edges)  # no cycle: every edge runs down
