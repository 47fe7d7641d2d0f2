"""A service notice in the browser, from the draft to a technician's acknowledgement: an
engineer drafts it and forgets what to do instead (refused, everything typed kept), completes
it; a second engineer reviews it; the first publishes it; a technician finds it on the home
page, opens it and acknowledges it, and it leaves the home page; the engineer sees the
acknowledgement in the tracking table."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.roles import Role
from parts_catalog.importer import import_release
from tests.browser.conftest import LiveServer
from tests.factories import make_centre, make_user
from tests.parts_catalog.releases import base_release

pytestmark = pytest.mark.browser

CENTRE = "Northside"
TITLE = "Power board GL2: fit GL2A only"
WHAT_TO_DO = "Order 1-474-594-12 and return any 1-474-594-11 in stock."


def _world(live_server: LiveServer, tmp_path: Path) -> tuple[str, str, str]:
    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        author = make_user(session, role=Role.ENGINEER, name="Elin Berg")
        reviewer = make_user(session, role=Role.ENGINEER, name="Rui Costa")
        tech = make_user(
            session,
            role=Role.TECHNICIAN,
            centre=make_centre(session, name=CENTRE),
            name="Tomás Reyes",
        )
        session.commit()
        return author.email, reviewer.email, tech.email


def test_from_a_draft_to_a_technicians_acknowledgement(
    page: Page, browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    author, reviewer, tech = _world(live_server, tmp_path)
    live_server.sign_in(page, author)
    page.goto(live_server.url + "/notices")
    page.get_by_role("link", name="New notice").click()
    page.get_by_label("Kind").select_option("part_notice")
    page.get_by_label("Safety notice", exact=False).check()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("What changes").fill("1-474-594-11 is withdrawn; 1-474-594-12 replaces it.")
    page.get_by_label("Why").fill("Capacitor C512 on early boards overheats.")
    page.get_by_label("From when").fill("2026-12-07")
    page.get_by_label("Who to contact").fill("parts-quality@benchside.example")
    page.get_by_label("Parts", exact=True).fill("1-474-594-12")
    page.get_by_role("button", name="Save as a draft").click()

    # Refused: "what to do instead" is named, and nothing typed is lost.
    alert = page.locator(".form-errors")
    expect(alert).to_contain_text("the notice needs what to do instead")
    expect(page.locator("#what_to_do-error")).to_contain_text("Say what to do instead")
    expect(page.get_by_label("Title")).to_have_value(TITLE)
    expect(page.get_by_label("Why")).to_have_value("Capacitor C512 on early boards overheats.")
    expect(page.get_by_label("From when")).to_have_value("2026-12-07")
    expect(page.get_by_label("Parts", exact=True)).to_have_value("1-474-594-12")
    expect(page.get_by_label("Safety notice", exact=False)).to_be_checked()
    expect(page.get_by_label("Kind")).to_have_value("part_notice")
    page.get_by_label("What to do instead").fill(WHAT_TO_DO)
    page.get_by_role("button", name="Save as a draft").click()
    expect(page.locator(".flash-success")).to_contain_text("is drafted")
    expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
    expect(page.get_by_role("button", name="Reviewed: it is right as it stands")).to_have_count(0)
    notice_url = page.url

    # A second engineer reviews it.
    second = browser.new_context().new_page()
    second.set_default_timeout(10_000)
    live_server.sign_in(second, reviewer)
    second.goto(notice_url)
    second.get_by_role("button", name="Reviewed: it is right as it stands").click()
    expect(second.locator(".flash-success")).to_contain_text("is reviewed")
    second.context.close()

    # The author publishes it.
    page.reload()
    expect(page.locator(".notice-status")).to_have_text("reviewed")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".flash-success")).to_contain_text("sent to 1 person")
    expect(page.locator("#tracking")).to_contain_text(f"{CENTRE}: 0 of 1 acknowledged")

    # The technician finds it on the home page, reads it and acknowledges it.
    bench = browser.new_context().new_page()
    bench.set_default_timeout(10_000)
    live_server.sign_in(bench, tech)
    waiting = bench.locator("#notices-waiting")
    expect(waiting).to_contain_text(TITLE)
    expect(waiting).to_contain_text("Safety")
    menu = bench.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Notices (1)")).to_be_visible()
    waiting.get_by_role("link", name=TITLE).click()
    expect(bench.locator(".notice-parts")).to_contain_text(WHAT_TO_DO)
    bench.get_by_role("button", name="I have read this notice").click()
    expect(bench.locator(".flash-success")).to_contain_text("acknowledged")
    expect(bench.locator("#notices-waiting")).to_have_count(0)  # back home, and it is gone
    expect(menu.get_by_role("link", name="Notices", exact=True)).to_be_visible()
    bench.context.close()

    # The engineer sees who acknowledged it.
    page.reload()
    tracking = page.locator("#tracking")
    expect(tracking).to_contain_text(f"{CENTRE}: 1 of 1 acknowledged")
    row = tracking.get_by_role("row", name="Tomás Reyes")
    expect(row).to_contain_text("UTC")
    expect(row).not_to_contain_text("not yet")
