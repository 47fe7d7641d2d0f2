"""Plausible ranges on measurements: a value typed wrong by a factor of ten is asked again, and
taken only when the technician confirms it, which the walk records with the time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from diagnostics import services, trees, validation, walk
from diagnostics.errors import ImplausibleValue, InvalidAnswer, InvalidTree
from diagnostics.models import PUBLISHED, TreeRevision
from parts_catalog.importer import import_release
from parts_catalog.sqltypes import utcnow
from tests.diagnostics.test_trees import TREE, changed, problems_of
from tests.parts_catalog.releases import base_release

DEMO = Path(__file__).parents[2] / "diagnostics" / "demo_trees"


def measure(**fields: Any) -> dict[str, Any]:
    return {**copy.deepcopy(TREE["nodes"]["psu"]), **fields}


def test_the_contract_tree_has_a_plausible_range_that_round_trips() -> None:
    tree = services.read(trees.dump(TREE))
    assert tree.nodes["psu"].plausible == (0, 30)
    for fmt in ("yaml", "json"):
        again = services.read(trees.dump(tree.document, fmt=fmt))
        assert again.document["nodes"]["psu"]["plausible"] == [0, 30]
        assert again.nodes["psu"].plausible == (0, 30)


@pytest.mark.parametrize(
    ("plausible", "expected"),
    [
        (30, "nodes.psu.plausible: two numbers, [lowest, highest] (e.g. [0, 30])"),
        ([0], "nodes.psu.plausible: two numbers, [lowest, highest] (e.g. [0, 30])"),
        ([0, 15, 30], "nodes.psu.plausible: two numbers, [lowest, highest] (e.g. [0, 30])"),
        (["low", 30], "nodes.psu.plausible[0]: must be a number"),
        ([0, True], "nodes.psu.plausible[1]: must be a number"),
        ([30, 0], "nodes.psu.plausible: the lowest plausible value 30 is not below the highest 0"),
        ([5, 5], "nodes.psu.plausible: the lowest plausible value 5 is not below the highest 5"),
    ],
)
def test_a_malformed_plausible_range_is_named(plausible: Any, expected: str) -> None:
    assert expected in problems_of(changed(psu=measure(plausible=plausible)))


def test_the_ranges_must_lie_within_the_plausible_range() -> None:
    node = measure(
        plausible=[12, 20],
        ranges=[{"below": 11.4, "next": "replace-psu"}, {"from": 11.4, "next": "escalate"}],
    )
    found = problems_of(changed(psu=node))
    assert found == [
        "nodes.psu.ranges[0].below: 11.4 lies outside the plausible range 12 to 20 V: "
        "the ranges' bounds must lie within it",
        "nodes.psu.ranges[1].from: 11.4 lies outside the plausible range 12 to 20 V: "
        "the ranges' bounds must lie within it",
    ]
    # Bounds on the plausible range's edges are fine.
    edge = measure(plausible=[11.4, 20])
    assert problems_of(changed(psu=edge)) == []


def test_only_a_measurement_has_a_plausible_range() -> None:
    step = {"kind": "step", "text": "Check CN7001", "next": "replace-psu", "plausible": [0, 1]}
    assert "nodes.backlight.plausible: only a measurement has a plausible range" in (
        problems_of(changed(backlight=step))
    )


# --- the pure walk -------------------------------------------------------------------------------


def walked_to_psu() -> tuple[trees.Tree, list[walk.Answer]]:
    tree = services.read(trees.dump(TREE))
    return tree, [walk.answer_for(tree.nodes["count"], option="2", value=None, proceed=False)]


def test_a_value_outside_the_plausible_range_is_asked_again() -> None:
    tree, _answers = walked_to_psu()
    with pytest.raises(ImplausibleValue) as caught:
        walk.answer_for(tree.nodes["psu"], option=None, value="121", proceed=False)
    refused = caught.value
    assert isinstance(refused, InvalidAnswer)
    assert (refused.value, refused.low, refused.high, refused.unit) == (121, 0, 30, "V")
    assert str(refused) == (
        "121 V is outside the plausible range for this measurement (0 to 30 V). Measure "
        "again; if the value is right, confirm that you re-measured it."
    )
    for edge in ("0", "30", "-0"):  # the range's ends are plausible
        assert walk.answer_for(tree.nodes["psu"], option=None, value=edge, proceed=False)


def test_a_confirmed_implausible_value_is_taken_and_recorded_with_the_time() -> None:
    tree, answers = walked_to_psu()
    now = utcnow()
    confirmed = walk.answer_for(
        tree.nodes["psu"],
        option=None,
        value="121",
        proceed=False,
        confirm_implausible=True,
        now=now,
    )
    assert confirmed.implausible_confirmed_at == now
    answers.append(confirmed)
    assert walk.position(tree, answers) == "escalate"
    step = walk.path(tree, answers)[-1]
    assert step.implausible_confirmed_at == now
    assert step.answer == "121 V (outside the plausible 0 to 30 V; confirmed after re-measuring)"
    # A confirmation is only recorded where one was needed.
    plain = walk.answer_for(
        tree.nodes["psu"], option=None, value="12.1", proceed=False, confirm_implausible=True
    )
    assert plain.implausible_confirmed_at is None


def test_the_walker_never_follows_an_unconfirmed_implausible_value() -> None:
    tree, answers = walked_to_psu()
    forged = [*answers, walk.Answer("psu", value=121)]  # a tampered or hand-made answer list
    with pytest.raises(ImplausibleValue):
        walk.position(tree, forged)
    assert walk.replay(tree, forged) == ("psu", [0])  # skipped: the question is asked again


def test_a_measurement_without_a_plausible_range_takes_any_value() -> None:
    document = copy.deepcopy(TREE)
    del document["nodes"]["psu"]["plausible"]
    tree = services.read(trees.dump(document))
    answer = walk.answer_for(tree.nodes["psu"], option=None, value=121, proceed=False)
    assert answer.implausible_confirmed_at is None


@pytest.mark.parametrize("path", sorted(DEMO.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_demo_measurement_has_a_plausible_range(path: Path) -> None:
    tree = services.read(path.read_text(encoding="utf-8"))
    measures = [n for n in tree.nodes.values() if n.kind == "measure"]
    assert all(n.plausible is not None for n in measures), path.name


# --- in the database -----------------------------------------------------------------------------


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    # 1-474-594-11, the power board TREE replaces, is safety-critical in this release.
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")


@pytest.mark.usefixtures("catalogue")
def test_a_walk_records_nothing_until_an_implausible_value_is_confirmed(session: Session) -> None:
    revision = services.import_tree(session, trees.dump(TREE), by=None, publish=True)
    walk_session = services.start(session, revision, by="tech")
    services.answer(session, walk_session, option="2")
    with pytest.raises(ImplausibleValue, match=r"121 V .* \(0 to 30 V\)"):
        services.answer(session, walk_session, value=121)
    assert len(walk_session.answers) == 1
    assert walk_session.outcome is None
    assert services.state(session, walk_session).node.id == "psu"
    services.answer(session, walk_session, value=121, confirm_implausible=True)
    stored = walk_session.answers[-1]
    assert stored.value == 121
    assert stored.implausible_confirmed_at is not None
    state = services.state(session, walk_session)
    assert state.node.id == "escalate"
    assert state.path[-1].implausible_confirmed_at == stored.implausible_confirmed_at
    # Taken back and offered again, the confirmation does not carry over to a new answer.
    services.back(session, walk_session)
    with pytest.raises(ImplausibleValue):
        services.answer(session, walk_session, value=121)


@pytest.mark.usefixtures("catalogue")
def test_a_measurement_before_a_safety_critical_fix_needs_a_plausible_range(
    session: Session,
) -> None:
    document = copy.deepcopy(TREE)
    del document["nodes"]["psu"]["plausible"]
    with pytest.raises(InvalidTree) as caught:
        services.import_tree(session, trees.dump(document), by=None, publish=True)
    assert [str(p) for p in caught.value.problems] == [
        "nodes.psu.plausible: a measurement that can lead to a safety-critical part "
        "(1-474-594-11 at replace-psu) needs a plausible range, e.g. plausible: [0, 30]"
    ]
    # Pure validation (no catalogue) cannot tell, and a tree whose fixes are not
    # safety-critical may leave it out.
    assert validation.validate(services.read(trees.dump(document))) == []
    harmless = copy.deepcopy(document)
    harmless["nodes"]["replace-psu"]["parts"] = [{"part": "A-2072-533-A", "qty": 1}]
    services.import_tree(session, trees.dump(harmless), by=None, publish=True)


@pytest.mark.usefixtures("catalogue")
def test_a_tree_published_before_plausible_ranges_is_still_walked(session: Session) -> None:
    document = copy.deepcopy(TREE)
    del document["nodes"]["psu"]["plausible"]
    old = TreeRevision(
        tree_id=document["id"],
        number=1,
        status=PUBLISHED,
        title=document["title"],
        document=trees.to_document_dict(document),
        created_at=utcnow(),
        published_at=utcnow(),
    )
    session.add(old)
    session.flush()
    walk_session = services.start(session, old, by="tech")
    services.answer(session, walk_session, option="2")
    services.answer(session, walk_session, value=10.9)
    assert services.state(session, walk_session).node.id == "replace-psu"
