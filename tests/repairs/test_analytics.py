"""Tree analytics from real walks, repairs, a redo, an exchange and escalations."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations import services as escalations
from app.repairs import exchange, services
from app.repairs.analytics import tree_analytics
from app.repairs.models import Repair
from app.repairs.settings import RepairSettings
from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics.errors import UnknownTree
from diagnostics.models import DiagnosticSession
from tests.conftest import AuthActions
from tests.escalations import escalation_settings
from tests.factories import make_centre, make_user
from tests.repairs.bench import SETTINGS, TV, ended_days_ago, load_bench, open_repair, rule

WALKS = 999  # a third stay at the first question, a third fix, a third escalate
TREE = """\
id: tv-dead
title: Dead TV
product_line: TV
models: ['KDL-*']
start: led
nodes:
  led:
    kind: choice
    text: Does the standby LED light?
    options: [{label: 'no', next: psu}, {label: 'yes', next: board}, {label: blinks, next: esc}]
  psu: {kind: fix, text: Replace the power board, parts: [{part: '1-474-594-11', qty: 1}],
        labour_minutes: 30}
  board: {kind: step, text: Reseat the main board connector, next: swap}
  swap: {kind: exchange, text: Exchange the set}
  esc: {kind: escalate, text: Send the blink code to engineering}
"""


@dataclass
class Bench:
    tech: User
    first: Repair  # walked to psu, repaired 30 days ago
    redo: Repair  # the same unit back: a redo of ``first``, walked to psu again
    old: Repair  # walked to psu, repaired 100 days ago; its unit back now (no redo)


def _walk(session: Session, repair: Repair, tech: User, *answers: str) -> DiagnosticSession:
    walk = services.start_walk(session, repair, tree_id="tv-dead", by=tech)
    for answer in answers:
        if answer == "proceed":
            diagnostics.answer(session, walk, proceed=True)
        else:
            diagnostics.answer(session, walk, option=answer)
    return walk


def _loose_walk(session: Session, tech: User, *answers: str) -> DiagnosticSession:
    """A walk that is part of no repair."""
    walk = diagnostics.start(
        session,
        diagnostics.get_revision(session, "tv-dead"),
        by=tech.email,
        centre_id=tech.centre_id,
        model_number=TV,
        serial="9000001",
    )
    for answer in answers:
        diagnostics.answer(session, walk, option=answer)
    return walk


def _escalate(app: Flask, session: Session, tech: User, walk: DiagnosticSession) -> None:
    escalations.open_ticket(
        session,
        tech,
        escalations.Submission(
            subject="Blinks",
            description="From the walk",
            category="technical",
            model_number=TV,
            diagnostic_session=walk.id,
        ),
        settings=escalation_settings(app),
    )


@pytest.fixture
def bench(app: Flask, session: Session, tmp_path: Path) -> Bench:
    load_bench(session, tmp_path / "r1")
    diagnostics.import_tree(session, TREE, publish=True, by="engineer@example.com")
    tech = make_user(session, role=Role.TECHNICIAN, centre=make_centre(session, name="North"))

    first = open_repair(session, tech, "1001")
    _walk(session, first, tech, "no")
    ended_days_ago(session, first, tech, 30, "repaired")
    redo = open_repair(session, tech, "1001")
    assert redo.redo_of_id == first.id
    _walk(session, redo, tech, "no")

    old = open_repair(session, tech, "1002")
    _walk(session, old, tech, "no")
    ended_days_ago(session, old, tech, 100, "repaired")
    back = open_repair(session, tech, "1002")
    assert back.redo_of_id is None

    stopped = open_repair(session, tech, "1003")
    _walk(session, stopped, tech, "yes")  # stands at board

    swapped = open_repair(session, tech, "1004")
    _walk(session, swapped, tech, "yes", "proceed")  # at swap, an exchange terminal
    rule(session, product_line="TV", exchange_only=True)
    authorisation, _ = exchange.request_exchange(session, swapped, by=tech)
    assert authorisation.status == "approved"
    assert authorisation.inputs["walk"]["node"] == "swap"

    _loose_walk(session, tech)  # stands at led
    _escalate(app, session, tech, _loose_walk(session, tech, "blinks"))  # ended at esc
    _escalate(app, session, tech, _loose_walk(session, tech, "yes"))  # escalated from board
    session.flush()
    return Bench(tech, first, redo, old)


def test_per_fix_node_walks_repairs_redos_and_exchanges(session: Session, bench: Bench) -> None:
    figures = tree_analytics(session, "tv-dead", settings=SETTINGS)
    assert figures.title == "Dead TV"
    assert figures.walks == 8
    assert figures.finished == 5  # three at psu, one at swap, one at esc
    fixes = {f.node: f for f in figures.fixes}
    assert set(fixes) == {"psu", "swap"}
    psu = fixes["psu"]
    assert (psu.kind, psu.text) == ("fix", "Replace the power board")
    # Three walks reached it; two of their repairs ended repaired; one came back in 90 days.
    assert (psu.walks, psu.repaired, psu.redos) == (3, 2, 1)
    assert psu.redo_rate == 0.5
    assert (psu.exchange_requests, psu.exchanges) == (0, 0)
    swap = fixes["swap"]
    assert (swap.walks, swap.repaired, swap.redos) == (1, 0, 0)
    assert (swap.exchange_requests, swap.exchanges) == (1, 1)


def test_where_walks_stop_and_what_leads_to_escalations(session: Session, bench: Bench) -> None:
    figures = tree_analytics(session, "tv-dead", settings=SETTINGS)
    assert [(s.node, s.count) for s in figures.stops] == [("board", 2), ("led", 1)]
    assert figures.stops[0].text == "Reseat the main board connector"
    escalated = {e.node: (e.walks, e.tickets) for e in figures.escalations}
    # One walk ended at the escalate node (and was escalated); one was escalated mid-way.
    assert escalated == {"esc": (1, 1), "board": (0, 1)}


@pytest.mark.parametrize(("redo_days", "redos"), [(29, 0), (30, 1)])
def test_a_redo_counts_within_the_window_set_now(
    session: Session, bench: Bench, redo_days: int, redos: int
) -> None:
    """The unit came back 30 days after its fix: a redo for a window of 30 days, not of 29."""
    settings = RepairSettings(redo_days=redo_days)
    [psu] = [
        f for f in tree_analytics(session, "tv-dead", settings=settings).fixes if f.node == "psu"
    ]
    assert psu.redos == redos


def test_every_revision_counts(session: Session, bench: Bench) -> None:
    """A walk pinned to an older revision still counts for its node in the tree."""
    diagnostics.import_tree(
        session, TREE.replace("Dead TV", "Dead TV (2)"), publish=True, by="engineer@example.com"
    )
    repair = open_repair(session, bench.tech, "1005")
    _walk(session, repair, bench.tech, "no")
    figures = tree_analytics(session, "tv-dead", settings=SETTINGS)
    assert figures.revisions == [1, 2]
    assert figures.title == "Dead TV (2)"
    assert [f.walks for f in figures.fixes if f.node == "psu"] == [4]


def test_an_unknown_tree_is_refused(session: Session) -> None:
    with pytest.raises(UnknownTree):
        tree_analytics(session, "no-such-tree", settings=SETTINGS)


def _row(html: str, table: str, node: str) -> list[str]:
    section = html[html.index(f'id="{table}"') :]
    row = section[section.index(f'data-node="{node}"') :]
    row = row[: row.index("</tr>")]
    return re.findall(r"<td>(.*?)</td>", row)


def test_the_page_shows_the_figures_to_engineers(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    session.commit()
    auth.login(Role.ENGINEER)
    editor = client.get("/authoring/trees/tv-dead").get_data(as_text=True)
    assert 'href="/authoring/trees/tv-dead/analytics"' in editor
    response = client.get("/authoring/trees/tv-dead/analytics")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _row(html, "fixes", "psu")[:3] == ["3", "2", '1 <small class="muted">(50 %)</small>']
    assert _row(html, "fixes", "swap")[3] == "1 of 1"
    assert _row(html, "stops", "board") == ["2"]
    assert _row(html, "escalations", "board") == ["0", "1"]
    assert client.get("/authoring/trees/no-such-tree/analytics").status_code == 404


def test_technicians_do_not_see_the_analytics(
    client: FlaskClient, auth: AuthActions, bench: Bench
) -> None:
    auth.login(Role.TECHNICIAN)
    assert client.get("/authoring/trees/tv-dead/analytics").status_code == 403


def test_a_tree_without_walks_has_empty_figures(session: Session, bench: Bench) -> None:
    figures = tree_analytics(session, "psu", settings=SETTINGS)
    assert figures.walks == 0
    assert [(f.node, f.walks, f.repaired) for f in figures.fixes] == [("end", 0, 0)]
    assert figures.stops == []
    assert figures.escalations == []


def test_a_busy_tree_adds_up(session: Session, bench: Bench) -> None:
    """About a thousand more walks, a third at each of three places: every one is counted where
    it stands (the figure printed is the page's query time)."""
    revision = diagnostics.get_revision(session, "tv-dead")
    for n in range(WALKS):
        walk = diagnostics.start(
            session, revision, by=bench.tech.email, centre_id=bench.tech.centre_id
        )
        if n % 3:
            diagnostics.answer(session, walk, option="no" if n % 3 == 1 else "blinks")
    session.flush()
    session.expunge_all()  # read from the database, as the page does
    started = time.perf_counter()
    figures = tree_analytics(session, "tv-dead", settings=SETTINGS)
    took = time.perf_counter() - started
    print(f"\ntree analytics over {figures.walks} walks: {took * 1000:.0f} ms")
    third = WALKS // 3
    assert figures.walks == 8 + WALKS
    assert [f.walks for f in figures.fixes if f.node == "psu"] == [3 + third]
    assert {s.node: s.count for s in figures.stops}["led"] == 1 + third
    assert {e.node: e.walks for e in figures.escalations}["esc"] == 1 + third
