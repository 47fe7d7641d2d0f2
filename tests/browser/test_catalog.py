from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from app.roles import Role
from parts_catalog.importer import import_release
from tests.browser.conftest import LiveServer
from tests.factories import make_user
from tests.parts_catalog.releases import base_release

pytestmark = pytest.mark.browser


@pytest.fixture
def technician(live_server: LiveServer, tmp_path: Path) -> str:
    """A technician's email, with a release imported and the search index following it."""
    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        email = make_user(session, role=Role.TECHNICIAN).email
        session.commit()
    live_server.update_search_index()
    return email


def test_an_old_number_leads_to_what_to_order(
    page: Page, live_server: LiveServer, technician: str
) -> None:
    live_server.sign_in(page, technician)
    # The number as a service manual prints it, typed with spaces into the box on every page:
    # the suggestions already say what to order instead.
    box = page.get_by_role("combobox", name="Search parts and models")
    box.press_sequentially("1474 594 11", delay=30)
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options.first).to_contain_text("1-474-594-11")
    expect(options.nth(1)).to_contain_text("replaces 1-474-594-11")
    box.press("Enter")  # the plain form: the results page
    expect(page).to_have_url(live_server.url + "/search?q=1474+594+11")
    first = page.get_by_role("listitem").filter(has_text="Superseded: order 1-474-594-12").first
    first.get_by_role("link", name="1-474-594-11").click()
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


def test_text_typed_before_the_suggestion_script_runs_is_suggested_for(
    page: Page, live_server: LiveServer, technician: str
) -> None:
    # A slow connection: the person types while search.js is still on its way. (Routing a
    # request also turns the browser's cache off, so the script is fetched, and held, here.)
    live_server.sign_in(page, technician)
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/static/search.js*", hold)
    page.goto(live_server.url + "/catalog", wait_until="commit")
    box = page.get_by_role("combobox", name="Search parts and models")
    box.press_sequentially("pwoer bord")
    while not held:
        page.wait_for_timeout(20)
    expect(page.get_by_role("option")).to_have_count(0)
    held[0].continue_()
    expect(page.get_by_role("option").filter(has_text="POWER BOARD (GL2A)")).to_be_visible()


def test_search_suggests_as_you_type_and_works_without_javascript(
    browser: Browser, live_server: LiveServer, technician: str
) -> None:
    for javascript in (True, False):
        context = browser.new_context(java_script_enabled=javascript)
        page = context.new_page()
        live_server.sign_in(page, technician)
        box = page.get_by_role("combobox", name="Search parts and models")
        if javascript:
            box.press_sequentially("pwoer bord", delay=30)
            option = page.get_by_role("option").filter(has_text="POWER BOARD (GL2A)")
            expect(option).to_be_visible()
            option.get_by_role("link").click()
            expect(page).to_have_url(live_server.url + "/catalog/parts/1-474-594-12")
        else:
            box.fill("pwoer bord")
            page.get_by_role("button", name="Search", exact=True).click()
            results = page.get_by_role("list").filter(has_text="POWER BOARD (GL2A)")
            expect(results.locator("mark").first).to_have_text("POWER")
            page.get_by_role("link", name="KDL-55W800C").first.click()  # a model facet
            expect(page).to_have_url(re.compile(r"model=KDL-55W800C"))
        context.close()
