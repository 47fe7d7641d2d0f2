"""In a real browser: the ticket's diagnostic path stacks into labelled rows on a phone and is a
table on a tablet; the tree picture's texts fit the room the layout gave them in the browser's
own font (so none is cut short by its clip)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from app.escalations import services as escalations
from app.roles import Role
from diagnostics import demo as tree_demo
from diagnostics import services as diagnostics
from parts_catalog import demo as catalogue_demo
from tests.browser.conftest import LiveServer, assert_fits, assert_table_layout, is_phone
from tests.escalations.test_diagnostic_path import EXPECTED, TREE, VALID
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_the_path_is_a_table_that_stacks_on_a_phone(
    bench_page: Page, live_server: LiveServer
) -> None:
    with live_server.session() as session:
        tech = make_user(session, role=Role.TECHNICIAN)
        agent = make_user(session, role=Role.AGENT_TIER1)
        revision = diagnostics.import_tree(session, TREE, publish=True, by="engineer@example.com")
        walk = diagnostics.start(session, revision, by=tech.email, model_number="KDL-55W800C")
        diagnostics.answer(session, walk, proceed=True)
        diagnostics.answer(session, walk, option="6")
        diagnostics.answer(session, walk, value="12.1")
        ticket, _new = escalations.open_ticket(
            session,
            tech,
            escalations.Submission(**VALID, diagnostic_session=walk.id),
            settings=live_server.app.extensions["benchside.settings"].escalations,
        )
        session.commit()
    live_server.sign_in(bench_page, agent.email)
    bench_page.goto(f"{live_server.url}/escalations/{ticket.reference}")
    table = bench_page.locator("table.path")
    rows = table.locator("tbody tr")
    assert rows.count() == len(EXPECTED)
    assert_table_layout(table, stacked=is_phone(bench_page))
    assert_fits(bench_page)
    bench_page.get_by_role("link", name="Open the walk").click()
    bench_page.wait_for_url(f"**/diagnose/sessions/{walk.id}")


def test_the_pictures_texts_fit_their_room_in_the_browsers_font(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    with live_server.session() as session:
        engineer = make_user(session, role=Role.ENGINEER)
        catalogue_demo.load(session, tmp_path / "releases")  # the parts the trees name
        ids = tree_demo.load(session)
        session.commit()
    assert len(ids) == len(list(tree_demo.FOLDER.glob("*.yaml")))
    live_server.sign_in(page, engineer.email)
    for tree_id in ids:
        page.goto(f"{live_server.url}/authoring/trees/{tree_id}")
        texts = page.evaluate(
            """() => [...document.querySelectorAll('svg.tree-picture svg')].flatMap(room =>
                [...room.querySelectorAll('text')].map(text => [
                    text.textContent,
                    Number(text.getAttribute('x')) + text.getComputedTextLength(),
                    Number(room.getAttribute('width')),
                ]))"""
        )
        assert texts, tree_id
        for text, end, room in texts:
            assert end <= room, f"{tree_id}: “{text}” needs {end:.0f} px of {room:.0f}"
