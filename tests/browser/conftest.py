"""A live portal in a thread and Debian's chromium driven by Playwright.

The server commits for real (a browser is another client, it cannot join the test's transaction),
so every table is emptied after each test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app import create_app
from app.search import indexing
from tests import database
from tests.conftest import make_test_config
from tests.factories import PASSWORD
from tests.smtp import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A camera that shows a test pattern, allowed without asking: scan.js opens a real stream.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]

#: The bench's screens: a phone held in one hand and a tablet propped up beside the unit.
VIEWPORTS: dict[str, ViewportSize] = {
    "phone": {"width": 390, "height": 844},
    "tablet": {"width": 820, "height": 1180},
}
#: The smallest height of anything a finger must hit (WCAG 2.5.5, Apple's and Google's guides).
TOUCH_TARGET_PX = 44


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class LiveServer:
    def __init__(self, url: str, app: Flask) -> None:
        self.url = url
        self.app = app
        self.engine: Engine = app.extensions["engine"]

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def sign_in(self, page: Page, email: str, password: str = PASSWORD) -> None:
        """Sign in on the login page, as a person does."""
        page.goto(self.url + "/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    def update_search_index(self) -> None:
        """What the index writer does after an import commits."""
        for store in indexing.stores(self.app):
            indexing.sync(self.app.extensions["session_factory"], store)


@pytest.fixture
def live_server(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    app = create_app(make_test_config(database_url, tmp_path))
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    # Requests still in flight when a test ends (a favicon, say) finish before the engine is
    # disposed, so that no database connection is left open behind the test's back.
    server.daemon_threads = False
    server.block_on_close = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()  # joins the request threads
        app.extensions["engine"].dispose()
        database.delete_all_rows(engine)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture(params=sorted(VIEWPORTS))
def bench_page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A page the size of a phone, then of a tablet, with a touch screen."""
    # Not Playwright's is_mobile: a mobile browser widens its layout to fit whatever overflows,
    # which would hide the very horizontal scrolling the layout checks look for.
    context = browser.new_context(viewport=VIEWPORTS[request.param], has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def is_phone(page: Page) -> bool:
    size = page.viewport_size
    return size is not None and size["width"] <= VIEWPORTS["phone"]["width"]


def assert_fits(page: Page) -> None:
    """Nothing on the page is wider than the screen: no sideways scrolling."""
    page.wait_for_load_state()
    widths = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths[0]} px in {widths[1]}"


def assert_touchable(*controls: Locator) -> None:
    """Each control is on screen and at least a finger high."""
    for control in controls:
        expect(control).to_be_visible()
        control.scroll_into_view_if_needed()
        box = control.bounding_box()
        assert box is not None
        assert box["height"] >= TOUCH_TARGET_PX, f"{control} is {box['height']} px high"
        width = control.page.evaluate("window.innerWidth")
        assert box["x"] >= 0, f"{control} is off-screen to the left"
        assert box["x"] + box["width"] <= width, f"{control} is off-screen to the right"


def open_menu(page: Page) -> Locator:
    """The main menu, opened with its toggle where the screen folds it; returns the menu."""
    # benchside.js (deferred, so run by DOMContentLoaded) folds the menu: ask only after it did.
    page.wait_for_load_state("domcontentloaded")
    menu = page.get_by_role("navigation", name="Main")
    toggle = page.get_by_role("button", name="Menu", exact=True)
    if toggle.is_visible():
        if toggle.get_attribute("aria-expanded") != "true":
            expect(menu).to_be_hidden()
            assert_touchable(toggle)
            toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu).to_be_visible()
    return menu


def assert_table_layout(table: Locator, *, stacked: bool) -> None:
    """On a phone each row is a card of its cells, one under the other, each labelled with its
    column's heading; wider, the table is a table."""
    row = table.locator("tbody tr").first
    cells = row.locator("td")
    boxes = [cells.nth(i).bounding_box() for i in range(cells.count())]
    assert len(boxes) >= 2
    assert all(box is not None for box in boxes)
    tops = [box["y"] for box in boxes if box is not None]
    if stacked:
        assert tops == sorted(tops), "cells are not stacked"
        assert len(set(tops)) == len(tops), "cells share a line"
        headings = [" ".join(text.split()) for text in table.locator("thead th").all_inner_texts()]
        labels = cells.evaluate_all(
            "cells => cells.map(c => [c.dataset.label || '',"
            " getComputedStyle(c, '::before').content])"
        )
        for (label, shown), heading in zip(labels, headings, strict=False):
            if heading:
                assert label.casefold() == heading.casefold()
                assert shown.strip('"') == label
    else:
        assert len(set(tops)) == 1, "a table's row is split"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Werkzeug's development server (the live server, never production) leaves a static file
    open when the browser drops a connection mid-response, as it does when a page moves on while
    its favicon is still loading; that is the server's, not a failure of the test."""
    for item in items:
        if "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"))
            item.add_marker(
                pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
            )
