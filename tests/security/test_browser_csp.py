"""The Content-Security-Policy in a real browser: no page of the portal trips it, and the
scripts that moved out of the markup (the release picker, the print button, the search box,
the escalation form and its acknowledgement, the tree editor) still work under it.

Chromium reports every violation as a ``securitypolicyviolation`` event and on the console;
both are collected, on every main page of every role.

The browser runs in a thread of its own: Playwright's sync API allows one instance per thread,
and the session's browser of ``tests/browser`` may be open in this one.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from app.escalations import attachments
from app.escalations import services as escalations
from app.orders import services as orders
from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics import trees
from parts_catalog.importer import import_release
from tests.browser import conftest as browser_fixtures
from tests.browser.conftest import LiveServer
from tests.diagnostics.test_trees import TREE
from tests.escalations import escalation_settings
from tests.factories import make_centre, make_user
from tests.parts_catalog.releases import base_release
from tests.security.conftest import JPEG

pytestmark = [
    pytest.mark.browser,
    # Werkzeug's development server (the live server here, never production) leaves a static
    # file open when the browser drops the connection mid-response, as it does when this walk
    # moves on while the favicon is still loading.
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

# The live portal is the browser tests' fixture, used from here.
live_server = browser_fixtures.live_server


def in_browser(scenario: Callable[[Browser], None]) -> None:
    """Run ``scenario`` with a Chromium of its own, on a thread of its own; its failures are
    raised here."""

    def run() -> None:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=browser_fixtures.CHROMIUM,
                headless=True,
                args=browser_fixtures.CHROMIUM_ARGS,
            )
            try:
                scenario(browser)
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result()


WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " +
                           e.sourceFile + ":" + e.lineNumber);
});
"""


class Watched:
    """A browser context whose pages report what the policy blocked."""

    def __init__(self, browser: Browser, live: LiveServer) -> None:
        self.live = live
        self.context: BrowserContext = browser.new_context()
        self.context.add_init_script(WATCH)
        self.console: list[str] = []
        self.violations: list[str] = []
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.console.append(f"{self.page.url}: {text}")

    def visit(self, path: str) -> Page:
        self.collect()
        self.page.goto(self.live.url + path)
        return self.page

    def collect(self) -> None:
        """Keep what the current page reported before it is left."""
        if self.page.url.startswith(self.live.url):
            found = self.page.evaluate("window.__violations || []")
            self.violations += [f"{self.page.url}: {v}" for v in found]

    def close(self) -> list[str]:
        self.collect()
        self.context.close()
        return self.violations + self.console


@pytest.fixture
def portal(live_server: LiveServer, tmp_path: Path) -> dict[str, str]:
    with live_server.session() as session, live_server.app.test_request_context():
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        import_release(session, path=base_release(tmp_path / "r2"), label="2026.2")
        diagnostics.import_tree(session, trees.dump(TREE), by="eng", publish=True)
        centre = make_centre(session)
        people = {
            role: make_user(
                session,
                role=role,
                centre=centre if role in (Role.TECHNICIAN, Role.CENTRE_MANAGER) else None,
            )
            for role in Role
        }
        technician = people[Role.TECHNICIAN]
        order, _ = orders.place(session, technician, [orders.Asked("1-474-594-12", 1)])
        settings = escalation_settings(live_server.app)
        file = attachments.store(
            session, technician, io.BytesIO(JPEG), "board.jpg", limit=settings.attachment_max_bytes
        )
        ticket, _ = escalations.open_ticket(
            session,
            technician,
            escalations.Submission(
                subject="Shuts down after 3 s",
                description="12.1 V at CN6101",
                category="technical",
                model_number="KDL-55W800C",
            ),
            settings=settings,
        )
        file.ticket_id = ticket.id
        session.commit()
        ids = {role.value: person.email for role, person in people.items()}
        found = {**ids, "order": str(order.id), "ticket": ticket.reference}
    live_server.update_search_index()
    return found


def test_no_page_trips_the_policy_and_the_scripts_still_work(
    live_server: LiveServer, portal: dict[str, str]
) -> None:
    in_browser(lambda browser: visit_the_main_pages(browser, live_server, portal))


def visit_the_main_pages(browser: Browser, live_server: LiveServer, portal: dict[str, str]) -> None:
    problems: list[str] = []

    anonymous = Watched(browser, live_server)
    anonymous.visit("/login")
    anonymous.visit("/password/forgot")
    anonymous.visit("/no/such/page")
    problems += anonymous.close()

    tech = Watched(browser, live_server)
    live_server.sign_in(tech.page, portal["technician"])
    page = tech.visit("/")
    # The search box's suggestions (search.js, fetching from the portal itself).
    page.get_by_role("combobox", name="Search parts and models").press_sequentially(
        "power board", delay=20
    )
    expect(page.get_by_role("option").first).to_be_visible()
    page = tech.visit("/catalog/parts/1-474-594-11")
    # The release picker sends its form when the choice changes (benchside.js).
    page.get_by_label("As of release").select_option("2026.1")
    expect(page).to_have_url(live_server.url + "/catalog/parts/1-474-594-11?as_of=2026.1")
    tech.visit("/catalog/models/KDL-55W800C")
    tech.visit("/catalog/releases")
    tech.visit("/search?q=power+board")
    page = tech.visit("/diagnose")
    page.get_by_role("textbox", name="Code").fill("6")
    page.get_by_role("textbox", name="Model number").first.fill("KDL-55W800C")
    page.get_by_role("button", name="Open the tree").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Printable summary").click()
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown by benchside.js
    tech.visit("/orders/cart")
    tech.visit("/orders")
    tech.visit(f"/orders/{portal['order']}")
    tech.visit(f"/escalations/{portal['ticket']}")
    page = tech.visit("/escalations/new")
    page.get_by_label("Subject").fill("No picture")
    page.get_by_label("What happens, and what you tried").fill("Backlight on.")
    page.get_by_label("Model number").fill("KDL-55W800C")
    expect(page.get_by_role("status").filter(has_text="Draft saved")).to_be_visible(timeout=8000)
    page.get_by_role("button", name="Send the escalation").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("We have it: ESC-")
    # The acknowledgement cleared the draft kept in the browser (escalation-sent.js).
    expect(page.locator("[data-clear-draft]")).to_have_count(1)
    kept = page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('benchside-escalation-draft'))"
    )
    assert kept == []
    tech.visit("/account/password")
    problems += tech.close()

    engineer = Watched(browser, live_server)
    live_server.sign_in(engineer.page, portal["engineer"])
    engineer.visit("/authoring")
    page = engineer.visit("/authoring/trees/tv-red-led-blinks?node=replace-psu")
    page.get_by_label("Find a part to add").press_sequentially("power board", delay=20)
    expect(page.locator(".part-results li").first).to_be_visible()  # authoring.js
    engineer.visit("/authoring/trees/tv-red-led-blinks/try")
    engineer.visit("/authoring/trees/tv-red-led-blinks/diff")
    engineer.visit("/catalog/errata")
    engineer.visit("/catalog/releases/upload")
    engineer.visit("/search/synonyms")
    problems += engineer.close()

    agent = Watched(browser, live_server)
    live_server.sign_in(agent.page, portal["agent_tier1"])
    agent.visit("/escalations")
    agent.visit("/escalations/dashboard")
    agent.visit(f"/escalations/{portal['ticket']}")
    problems += agent.close()

    admin = Watched(browser, live_server)
    live_server.sign_in(admin.page, portal["admin"])
    admin.visit("/admin/users")
    admin.visit("/admin/centres")
    admin.visit("/admin/invitations/new")
    admin.visit("/orders/returns")
    admin.visit(f"/orders/{portal['order']}")
    problems += admin.close()

    assert problems == []


def test_the_watch_sees_a_violation(live_server: LiveServer) -> None:
    """The control: markup the policy forbids, put on a page, is reported."""
    in_browser(lambda browser: break_the_policy(browser, live_server))


def break_the_policy(browser: Browser, live_server: LiveServer) -> None:
    watched = Watched(browser, live_server)
    page = watched.visit("/login")
    page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.ran = 1";
          document.body.appendChild(s);
          const d = document.createElement("div");
          d.setAttribute("style", "color: red");
          document.body.appendChild(d);
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.ran") is None  # the inline script did not run
    problems = watched.close()
    assert any("script-src" in p for p in problems), problems
    assert any("style-src" in p for p in problems), problems
