"""Walking a tree: from the answers so far to the next node. Pure functions over plain data.

Answers are replayed from the start each time, so a walk is fully described by its tree revision
and its answers: going back is dropping the last answer, and a stored session resumes exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from diagnostics.errors import ImplausibleValue, InvalidAnswer
from diagnostics.trees import CHOICE, MEASURE, STEP, Node, Tree


@dataclass(frozen=True)
class Answer:
    """An answer to ``node``: an ``option`` label (choice), a ``value`` (measure), or neither
    (a step done). A value outside the node's plausible range is followed only when
    ``implausible_confirmed_at`` says when the technician confirmed it."""

    node: str
    option: str | None = None
    value: float | None = None
    implausible_confirmed_at: datetime | None = None


@dataclass(frozen=True)
class Step:
    """One node of the path so far, with what was answered there (for the breadcrumb)."""

    node: str
    kind: str
    text: str
    answer: str
    implausible_confirmed_at: datetime | None = None


def answer_for(
    node: Node,
    *,
    option: str | None,
    value: object,
    proceed: bool,
    confirm_implausible: bool = False,
    now: datetime | None = None,
) -> Answer:
    """Check an answer against the node's kind. A value outside a measurement's plausible range
    is taken only with ``confirm_implausible`` (the technician measured again), and the answer
    then records when (``now``).

    :raises ImplausibleValue: for such a value unconfirmed.
    :raises InvalidAnswer: naming what the node expects.
    """
    if node.is_terminal:
        raise InvalidAnswer("The walk has ended here: there is nothing left to answer.")
    if node.kind == CHOICE:
        if option is None:
            raise InvalidAnswer(f"This question needs one of: {_labels(node)}.")
        if option not in {o.label for o in node.options}:
            raise InvalidAnswer(
                f"“{option}” is not an answer here; choose one of: {_labels(node)}."
            )
        return Answer(node.id, option=option)
    if node.kind == MEASURE:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidAnswer(f"This step needs a measured value{_unit(node)}.")
        try:
            number = float(str(value).strip().replace(",", "."))
        except ValueError:
            raise InvalidAnswer(f"“{value}” is not a number{_unit(node)}.") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise InvalidAnswer("The value must be a finite number.")
        if node.is_plausible(number):
            return Answer(node.id, value=number)
        if not confirm_implausible:
            raise _implausible(node, number)
        return Answer(node.id, value=number, implausible_confirmed_at=now or datetime.now(UTC))
    if not proceed:
        raise InvalidAnswer("This step is done by confirming it (continue).")
    return Answer(node.id)


def _labels(node: Node) -> str:
    return ", ".join(f"“{o.label}”" for o in node.options)


def _unit(node: Node) -> str:
    return f" in {node.unit}" if node.unit else ""


def _implausible(node: Node, value: float) -> ImplausibleValue:
    assert node.plausible is not None
    return ImplausibleValue(value, node.plausible[0], node.plausible[1], node.unit)


def follow(node: Node, answer: Answer) -> str:
    """The node an answer leads to.

    :raises ImplausibleValue: for a value outside the plausible range that was not confirmed.
    """
    if node.kind == CHOICE:
        return next(o.next for o in node.options if o.label == answer.option)
    if node.kind == MEASURE:
        assert answer.value is not None
        if not node.is_plausible(answer.value) and answer.implausible_confirmed_at is None:
            raise _implausible(node, answer.value)
        for r in node.ranges:
            if r.contains(answer.value):
                return r.next
        raise InvalidAnswer(f"No range of this step covers {answer.value:g}.")
    if node.kind == STEP and node.next:
        return node.next
    raise InvalidAnswer(f"“{node.id}” has nowhere to go.")


def position(tree: Tree, answers: Sequence[Answer]) -> str:
    """The node the walk is at after ``answers``.

    :raises InvalidAnswer: when the answers do not fit the tree (a tampered session).
    """
    node_id = tree.start
    for answer in answers:
        if answer.node != node_id:
            raise InvalidAnswer(f"An answer for “{answer.node}” came at “{node_id}”.")
        node_id = follow(tree.nodes[node_id], answer)
    return node_id


def replay(tree: Tree, answers: Sequence[Answer]) -> tuple[str, list[int]]:
    """The node reached, and the positions of the answers that led there: an answer that does
    not fit where the walk stood (a duplicate from a double submit, say) is skipped."""
    node_id = tree.start
    used: list[int] = []
    for index, answer in enumerate(answers):
        node = tree.nodes.get(node_id)
        if node is None or node.is_terminal:
            break
        if answer.node != node_id:
            continue
        try:
            node_id = follow(node, answer)
        except (InvalidAnswer, StopIteration):
            continue
        used.append(index)
    return node_id, used


def path(tree: Tree, answers: Sequence[Answer]) -> list[Step]:
    """The nodes answered so far, each with its answer in words ("10.8 V", "6", "done")."""
    steps = []
    for answer in answers:
        node = tree.nodes[answer.node]
        if node.kind == CHOICE:
            said = answer.option or ""
        elif node.kind == MEASURE:
            said = f"{answer.value:g}{' ' + node.unit if node.unit else ''}"
            if answer.implausible_confirmed_at is not None:
                said += (
                    f" (outside the plausible {node.describe_plausible()}; "
                    "confirmed after re-measuring)"
                )
        else:
            said = "done"
        steps.append(Step(node.id, node.kind, node.text, said, answer.implausible_confirmed_at))
    return steps
