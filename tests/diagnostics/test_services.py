"""Trees and walks in the database: revisions, lookup by code and chassis, clashes, fixes
resolved through the catalogue, estimates."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from diagnostics import services, trees
from diagnostics.errors import InvalidAnswer, InvalidTree, NoTreeFound
from diagnostics.models import PUBLISHED, RETIRED
from parts_catalog.importer import import_release
from tests.diagnostics.test_trees import TREE
from tests.parts_catalog.releases import BASE_MODELS, base_release, model


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    models = [
        *BASE_MODELS,
        model(
            "KDL-40W650D",
            name="Bravia 40W650D",
            product_line="TV",
            chassis="WAX3F",
            exchange_value="80.00",
        ),
    ]
    models[0] = {**models[0], "exchange_value": "900.00"}
    import_release(session, path=base_release(tmp_path / "r1", models=models), label="r1")


def text(document: dict[str, Any] = TREE, **changes: Any) -> str:
    return trees.dump({**copy.deepcopy(document), **changes})


@pytest.mark.usefixtures("catalogue")
def test_revisions_publish_and_walks_stay_pinned(session: Session) -> None:
    first = services.import_tree(session, text(), by="eng@example.com", publish=True)
    walk = services.start(session, first, by="tech@example.com", model_number="kdl55w800c")
    assert walk.model_number == "KDL-55W800C"  # as the catalogue spells it
    second = services.import_tree(session, text(title="Blinks (revised)"), by="eng", publish=False)
    assert (second.number, second.status) == (2, "draft")
    services.publish(session, "tv-red-led-blinks", 2)
    assert (first.status, second.status) == (RETIRED, PUBLISHED)
    assert services.state(session, walk).revision.number == 1
    assert services.find_by_code(session, "blink:6", "KDL-55W800C").number == 2


@pytest.mark.usefixtures("catalogue")
def test_an_invalid_import_stores_nothing(session: Session) -> None:
    bad = copy.deepcopy(TREE)
    bad["nodes"]["replace-psu"]["parts"] = [{"part": "9-999-999-99", "qty": 1}]
    with pytest.raises(InvalidTree) as caught:
        services.import_tree(session, trees.dump(bad), by=None)
    assert [str(p) for p in caught.value.problems] == [
        "nodes.replace-psu.parts: part 9-999-999-99 is not in the catalogue"
    ]
    assert services.published(session) == []


@pytest.mark.usefixtures("catalogue")
def test_the_models_chassis_decides_what_a_code_means(session: Session) -> None:
    services.import_tree(session, text(), by=None, publish=True)  # GN2, KDL-*
    wax = copy.deepcopy(TREE)
    wax.update(id="wax3f-blinks", title="WAX3F blinks", chassis=["WAX3F"], codes=["blink:6"])
    services.import_tree(session, trees.dump(wax), by=None, publish=True)
    assert services.find_by_code(session, "blink:6", "kdl 55w800c").tree_id == "tv-red-led-blinks"
    assert services.find_by_code(session, "BLINK:6", "KDL-40W650D").tree_id == "wax3f-blinks"
    with pytest.raises(NoTreeFound, match="No published tree answers blink:9"):
        services.find_by_code(session, "blink:9", "KDL-55W800C")
    with pytest.raises(NoTreeFound, match="not in the catalogue"):
        services.find_by_code(session, "blink:6", "XYZ-1")


@pytest.mark.usefixtures("catalogue")
def test_a_code_may_not_open_two_trees_for_the_same_models(session: Session) -> None:
    services.import_tree(session, text(), by=None, publish=True)
    clash = copy.deepcopy(TREE)
    clash.update(id="other", title="Other", chassis=[], models=["KDL-55W800C"], codes=["blink:2"])
    with pytest.raises(InvalidTree) as caught:
        services.import_tree(session, trees.dump(clash), by=None, publish=True)
    assert "blink:2: already answered by the published tree “tv-red-led-blinks”" in str(
        caught.value.problems[0]
    )
    # As a draft it is fine; a camera tree with the same code is fine too.
    services.import_tree(session, trees.dump(clash), by=None, publish=False)
    camera = {**clash, "id": "camera", "models": ["DSC-*"]}
    services.import_tree(session, trees.dump(camera), by=None, publish=True)


@pytest.mark.usefixtures("catalogue")
def test_a_fix_resolves_its_parts_and_weighs_repair_against_exchange(session: Session) -> None:
    revision = services.import_tree(session, text(), by=None, publish=True)
    walk = services.start(session, revision, by="tech", model_number="KDL-55W800C")
    services.answer(session, walk, option="2")
    services.answer(session, walk, value="10.9")
    state = services.state(session, walk, labour_rate=Decimal("60.00"))
    assert state.node.id == "replace-psu"
    line = state.parts[0]
    assert line.requested == "1-474-594-11"
    assert line.resolution.outcome == "superseded"
    assert [(o.number, o.qty, o.unit_price) for o in line.order] == [
        ("1-474-594-12", 1, Decimal("89.00"))
    ]
    estimate = state.estimate
    assert estimate is not None
    assert (estimate.parts_total, estimate.labour, estimate.total) == (
        Decimal("89.00"),
        Decimal("30.00"),
        Decimal("119.00"),
    )
    assert estimate.exchange_value == Decimal("900.00")
    assert not estimate.recommend_exchange
    assert line.fits is True  # 1-474-594-11 is listed for KDL-55W800C
    cheap = services.start(session, revision, by="tech", model_number="KDL-40W650D")
    # Not the right chassis for a code, but started by tree: the estimate uses its value.
    services.answer(session, cheap, option="2")
    services.answer(session, cheap, value=1)
    cheap_state = services.state(session, cheap, labour_rate=Decimal("60"))
    assert cheap_state.estimate is not None
    assert cheap_state.estimate.recommend_exchange
    assert cheap_state.parts[0].fits is False  # and the page warns before anyone orders it


@pytest.mark.usefixtures("catalogue")
def test_answers_are_kept_when_going_back(session: Session) -> None:
    revision = services.import_tree(session, text(), by=None, publish=True)
    walk = services.start(session, revision, by="tech")
    services.answer(session, walk, option="2")
    services.answer(session, walk, value=12.1)
    assert walk.outcome == "escalate"
    services.back(session, walk)
    state = services.state(session, walk)
    assert state.node.id == "psu"
    assert state.previous is not None
    assert state.previous.value == 12.1
    assert len(walk.answers) == 2  # kept, marked as taken back
    with pytest.raises(InvalidAnswer):
        services.answer(session, walk, option="2")
    assert len(walk.answers) == 2
    services.restart(session, walk)
    assert services.state(session, walk).node.id == "count"
    with pytest.raises(InvalidAnswer, match="first question"):
        services.back(session, walk)


@pytest.mark.usefixtures("catalogue")
def test_every_problem_with_the_database_is_reported_together(session: Session) -> None:
    document = copy.deepcopy(TREE)
    document["nodes"]["backlight"]["next"] = "count"
    document["nodes"]["replace-psu"]["parts"] = [{"part": "9-999-999-99", "qty": 1}]
    with pytest.raises(InvalidTree) as caught:
        services.import_tree(session, trees.dump(document), by=None)
    found = [str(p) for p in caught.value.problems]
    assert any("cycle" in p for p in found)
    assert "nodes.replace-psu.parts: part 9-999-999-99 is not in the catalogue" in found


def test_a_part_that_cannot_be_ordered_means_exchange(session: Session, tmp_path: Path) -> None:
    from tests.parts_catalog.releases import BASE_PARTS, part

    parts = [*BASE_PARTS, part("1-111-111-11", "OLD BOARD", status="nla", unit_price="5.00")]
    import_release(session, path=base_release(tmp_path / "r", parts=parts), label="r")
    document = copy.deepcopy(TREE)
    document["nodes"]["replace-psu"]["parts"] = [{"part": "1-111-111-11", "qty": 1}]
    revision = services.import_tree(session, trees.dump(document), by=None, publish=True)
    walk = services.start(session, revision, by="tech", model_number="KDL-55W800C")
    services.answer(session, walk, option="2")
    services.answer(session, walk, value=1)
    estimate = services.state(session, walk, labour_rate=Decimal("45")).estimate
    assert estimate is not None
    assert (estimate.parts_total, estimate.total) == (None, None)
    assert estimate.unavailable == ("1-111-111-11",)
    assert estimate.recommend_exchange


@pytest.mark.usefixtures("catalogue")
def test_a_double_submit_cannot_break_a_walk(session: Session) -> None:
    from diagnostics.models import SessionAnswer
    from parts_catalog.sqltypes import utcnow

    revision = services.import_tree(session, text(), by=None, publish=True)
    walk = services.start(session, revision, by="tech")
    services.answer(session, walk, option="2", at_node="count")
    with pytest.raises(InvalidAnswer, match="answered already"):
        services.answer(session, walk, option="2", at_node="count")  # the second click
    # Even a duplicate that slipped in (two writers at once) is ignored, not fatal.
    walk.answers.append(SessionAnswer(node="count", option="2", answered_at=utcnow()))
    session.flush()
    assert services.state(session, walk).node.id == "psu"
    services.answer(session, walk, value=10)
    assert services.state(session, walk).node.id == "replace-psu"
    services.back(session, walk)
    assert services.state(session, walk).node.id == "psu"
