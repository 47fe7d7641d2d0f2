from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.roles import Role
from parts_catalog.importer import import_release
from tests.browser.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.parts_catalog.releases import base_release

pytestmark = pytest.mark.browser


def test_an_old_number_leads_to_what_to_order(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The number as a service manual prints it, typed with spaces into the box on every page.
    page.get_by_role("searchbox", name="Part or model number").fill("1474 594 11")
    page.get_by_role("button", name="Look up").click()
    expect(page).to_have_url(live_server.url + "/catalog/parts/1-474-594-11")
    answer = page.get_by_role("region", name="What to order")
    expect(answer).to_contain_text("Order 1-474-594-12 × 1")
    expect(answer).to_contain_text("superseded one-way on 2024-03-01")
    expect(answer).to_contain_text("Safety-critical")
    # Report a fitment as wrong: it reaches the engineers' queue.
    page.get_by_text("Does not fit?").first.click()
    page.get_by_label("Tell the engineers what is wrong (optional)").first.fill(
        "Different connector"
    )
    page.get_by_role("button", name="Report: 1-474-594-11 does not fit KDL-55W800C").click()
    expect(page.get_by_role("status")).to_contain_text("engineers will check")
