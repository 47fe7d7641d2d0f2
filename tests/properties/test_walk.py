"""The diagnostic walk, by property: random valid trees, random walks through them.

Pure (``diagnostics.walk`` over parsed trees) and stored (``diagnostics.services``: answer,
back, restart on a walk kept in the database, replayed from its answers each time).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from diagnostics import services, trees, validation, walk
from diagnostics.errors import ImplausibleValue, InvalidAnswer
from diagnostics.trees import CHOICE, MEASURE, Tree
from tests.properties.budget import DATABASE, TREES
from tests.properties.trees import answers_for, tree_documents


def parsed(document: dict[str, Any]) -> Tree:
    tree, problems = trees.parse(document)
    assert tree is not None, problems
    assert problems == []
    return tree


def random_walk(tree: Tree, data: st.DataObject) -> tuple[list[walk.Answer], list[str]]:
    """Answer every question until a terminal: the answers and the nodes visited (start
    first, the terminal last)."""
    visited = [tree.start]
    answers: list[walk.Answer] = []
    while not tree.nodes[visited[-1]].is_terminal:
        node = tree.nodes[visited[-1]]
        given_answer = walk.answer_for(node, **data.draw(answers_for(node)))
        answers.append(given_answer)
        visited.append(walk.follow(node, given_answer))
        assert len(visited) <= len(tree.nodes), "a walk came back to a node it passed"
    return answers, visited


@TREES
@given(tree_documents())
def test_generated_trees_are_valid(document: dict[str, Any]) -> None:
    assert validation.validate(parsed(document)) == []


@TREES
@given(tree_documents(), st.sampled_from(["yaml", "json"]))
def test_a_tree_round_trips_through_its_text(document: dict[str, Any], fmt: str) -> None:
    text = trees.dump(trees.to_document_dict(document), fmt=fmt)
    again = services.read(text)
    assert again == parsed(document)
    assert again.document == trees.to_document_dict(document)
    assert trees.dump(again.document, fmt=fmt) == text


@TREES
@given(tree_documents(), st.data())
def test_every_walk_ends_at_a_terminal(document: dict[str, Any], data: st.DataObject) -> None:
    tree = parsed(document)
    _answers, visited = random_walk(tree, data)
    assert tree.nodes[visited[-1]].is_terminal
    assert len(set(visited)) == len(visited)  # no node twice: trees have no cycles
    with pytest.raises(InvalidAnswer):
        walk.answer_for(tree.nodes[visited[-1]], option="yes", value=1.0, proceed=True)


@TREES
@given(tree_documents(), st.data())
def test_replaying_the_answers_leads_where_the_walk_went(
    document: dict[str, Any], data: st.DataObject
) -> None:
    tree = parsed(document)
    answers, visited = random_walk(tree, data)
    # Every prefix is a position of the walk: going back is dropping the last answer.
    for i in range(len(answers) + 1):
        assert walk.position(tree, answers[:i]) == visited[i]
        assert walk.replay(tree, answers[:i]) == (visited[i], list(range(i)))
    steps = walk.path(tree, answers)
    assert [s.node for s in steps] == visited[:-1]
    assert all(s.answer for s in steps)
    # Deterministic: the same answers, the same walk.
    assert walk.replay(tree, list(answers)) == walk.replay(tree, answers)


@TREES
@given(tree_documents(), st.data())
def test_a_repeated_answer_is_skipped_on_replay(
    document: dict[str, Any], data: st.DataObject
) -> None:
    """A double submit stores an answer twice; the walk replays as if it had been sent once."""
    tree = parsed(document)
    answers, visited = random_walk(tree, data)
    doubled = data.draw(st.sets(st.integers(0, max(len(answers) - 1, 0))))
    sent: list[walk.Answer] = []
    originals: list[int] = []
    for i, a in enumerate(answers):
        sent.append(a)
        originals.append(len(sent) - 1)
        if i in doubled:
            sent.append(a)
    assert walk.replay(tree, sent) == (visited[-1], originals)
    # ``position`` is strict: it names the answer that came at the wrong node.
    if doubled and answers:
        with pytest.raises(InvalidAnswer):
            walk.position(tree, sent)


@TREES
@given(tree_documents(), st.floats(allow_nan=False, allow_infinity=False))
def test_exactly_one_range_covers_every_value(document: dict[str, Any], value: float) -> None:
    tree = parsed(document)
    for node in tree.nodes.values():
        if node.kind == MEASURE:
            assert sum(r.contains(value) for r in node.ranges) == 1
            for r in node.ranges:  # and each range's own lower bound is in it
                if r.low is not None:
                    assert r.contains(r.low)


@TREES
@given(tree_documents(), st.data())
def test_answers_that_do_not_fit_are_refused(document: dict[str, Any], data: st.DataObject) -> None:
    tree = parsed(document)
    for node in tree.nodes.values():
        if node.kind == CHOICE:
            labels = {o.label for o in node.options}
            other = data.draw(st.text(max_size=10).filter(lambda s, known=labels: s not in known))
            with pytest.raises(InvalidAnswer):
                walk.answer_for(node, option=other, value=None, proceed=False)
            with pytest.raises(InvalidAnswer):
                walk.answer_for(node, option=None, value=None, proceed=True)
        elif node.kind == MEASURE:
            bad = data.draw(
                st.sampled_from([math.nan, math.inf, -math.inf, "nan", "1e999", "volts", None])
                | st.booleans()
            )
            with pytest.raises(InvalidAnswer):
                walk.answer_for(node, option=None, value=bad, proceed=False)
        elif not node.is_terminal:
            with pytest.raises(InvalidAnswer):
                walk.answer_for(node, option=None, value=None, proceed=False)


@TREES
@given(tree_documents(), st.floats(allow_nan=False, allow_infinity=False), st.booleans())
def test_an_implausible_value_is_followed_only_when_confirmed(
    document: dict[str, Any], value: float, spelled: bool
) -> None:
    """Outside a measurement's plausible range a value is refused unless confirmed, by
    ``answer_for`` and by ``follow`` alike; confirmed, it goes where its range says, and the
    answer and its step in the path record when."""
    tree = parsed(document)
    for node in tree.nodes.values():
        if node.kind != MEASURE or node.plausible is None:
            continue
        sent: object = repr(value) if spelled else value
        if node.is_plausible(value):
            answer = walk.answer_for(
                node, option=None, value=sent, proceed=False, confirm_implausible=True
            )
            assert answer.implausible_confirmed_at is None  # nothing to confirm
            continue
        with pytest.raises(ImplausibleValue):
            walk.answer_for(node, option=None, value=sent, proceed=False)
        with pytest.raises(ImplausibleValue):
            walk.follow(node, walk.Answer(node.id, value=value))
        confirmed = walk.answer_for(
            node, option=None, value=sent, proceed=False, confirm_implausible=True
        )
        assert confirmed.implausible_confirmed_at is not None
        assert walk.follow(node, confirmed) == next(
            r.next for r in node.ranges if r.contains(value)
        )


# --- walks kept in the database ------------------------------------------------------------------


@contextmanager
def scratch(session: Session) -> Iterator[None]:
    savepoint = session.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()
        session.expire_all()


ACTIONS = st.lists(
    st.sampled_from(["answer", "answer", "answer", "back", "restart", "stale", "wrong"]),
    max_size=25,
)


@DATABASE
@given(tree_documents(), ACTIONS, st.data())
def test_a_stored_walk_follows_answer_back_and_restart(
    session: Session, document: dict[str, Any], actions: list[str], data: st.DataObject
) -> None:
    """The walk in the database is where the pure walk over the answers in force says, after
    any mix of answers, going back, starting over, and refused answers (which change nothing)."""
    tree = parsed(document)
    first = tree.nodes[tree.start]
    # Opened by a code, a walk has its first question answered when the code names an option.
    code = None
    expected: list[walk.Answer] = []  # the answers in force, by the pure model
    if first.kind == CHOICE and data.draw(st.booleans()):
        label = data.draw(st.sampled_from([o.label for o in first.options]))
        code = f"blink:{label}"
        # Codes match labels in any case; the first option that matches is taken.
        match = next(o.label for o in first.options if o.label.lower() == label.lower())
        expected.append(walk.Answer(first.id, option=match))
    with scratch(session):
        revision = services.import_tree(session, trees.dump(document), by="eng@example.com")
        stored = services.start(session, revision, by="tech@example.com", code=code)
        taken_back: dict[str, walk.Answer] = {}  # last answer taken back at each node
        for action in ["look", *actions]:
            here = tree.nodes[walk.position(tree, expected)]
            if action == "look":
                pass
            elif action == "answer" and here.is_terminal:
                with pytest.raises(InvalidAnswer):
                    services.answer(session, stored, at_node=here.id, option="x", proceed=True)
            elif action == "answer":
                kwargs = data.draw(answers_for(here))
                services.answer(session, stored, at_node=here.id, **kwargs)
                expected.append(walk.answer_for(here, **kwargs))
            elif action == "back":
                if expected:
                    services.back(session, stored)
                    last = expected.pop()
                    # Offered again without its confirmation: that is given afresh.
                    taken_back[last.node] = walk.Answer(last.node, last.option, last.value)
                else:
                    with pytest.raises(InvalidAnswer):
                        services.back(session, stored)
            elif action == "restart":
                services.restart(session, stored)
                taken_back.update(
                    (a.node, walk.Answer(a.node, a.option, a.value)) for a in expected
                )
                expected = []
            else:  # "stale" or "wrong"
                before = len(stored.answers)
                if action == "stale":  # sent from an old page: names another node
                    wrong = {"at_node": here.id + "-old", "option": "x", "proceed": True}
                else:  # nothing that answers the node
                    wrong = {"option": None, "value": None, "proceed": False}
                with pytest.raises(InvalidAnswer):
                    services.answer(session, stored, **wrong)
                assert len(stored.answers) == before
            state = services.state(session, stored)
            assert state.node.id == walk.position(tree, expected)
            assert [s.node for s in state.path] == [a.node for a in expected]
            assert (stored.outcome is not None) == state.node.is_terminal
            # What was answered here before going back is offered again.
            assert state.previous == taken_back.get(state.node.id)
        # A stored walk resumes exactly: read afresh, it stands where it stood.
        session.expire_all()
        again = services.state(session, services.get(session, stored.id))
        assert again.node.id == walk.position(tree, expected)
        assert [s.node for s in again.path] == [a.node for a in expected]


def test_a_walk_opened_by_a_code_that_leads_to_a_fix_has_ended(session: Session) -> None:
    """Found by the property above: the code answered the first question, but the walk's
    outcome stayed empty although it stood at the fix."""
    document = {
        "id": "blinks",
        "title": "Blinks",
        "codes": ["blink:2"],
        "start": "count",
        "nodes": {
            "count": {
                "kind": "choice",
                "text": "How many blinks?",
                "options": [{"label": "2", "next": "fix"}, {"label": "6", "next": "ask"}],
            },
            "ask": {"kind": "escalate", "text": "Ask engineering"},
            "fix": {"kind": "fix", "text": "Replace the power board"},
        },
    }
    with scratch(session):
        revision = services.import_tree(session, trees.dump(document), by=None)
        opened = services.start(session, revision, by="tech@example.com", code="BLINK:2")
        assert services.state(session, opened).node.id == "fix"
        assert opened.outcome == "fix"
        services.back(session, opened)
        assert opened.outcome is None


@TREES
@given(st.text() | tree_documents().map(trees.dump) | st.from_regex(r"\A[\[{]*[0-9eE.+-]{1,30}"))
@example("{" + '"x": ' + "1" * 5000 + "}")
@example("x: " + "1" * 5000)  # more digits than Python turns into an int
@example('{"id": "t", "below": 1e-05}')
def test_any_text_is_read_or_refused_with_problems(text: str) -> None:
    document, problems = trees.load_text(text, name="upload")
    assert (document is None) == bool(problems)


@TREES
@given(tree_documents())
@example(
    {
        "id": "leak",
        "title": "Leakage",
        "start": "m",
        "nodes": {
            "m": {
                "kind": "measure",
                "text": "Leakage current",
                "unit": "A",
                "ranges": [{"below": 0.00001, "next": "ok"}, {"from": 0.00001, "next": "bad"}],
            },
            "ok": {"kind": "fix", "text": "Reseat"},
            "bad": {"kind": "escalate", "text": "Ask"},
        },
    }
)
def test_a_tree_exported_as_json_imports_again(document: dict[str, Any]) -> None:
    """Found by the round trip above: JSON writes 0.00001 as 1e-05, which YAML 1.1 (the reader
    of both formats) took for text, so the exported tree did not import."""
    exported = trees.dump(trees.to_document_dict(document), fmt="json")
    assert services.read(exported).document == trees.to_document_dict(document)
