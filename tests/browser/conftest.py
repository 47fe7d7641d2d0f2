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
from playwright.sync_api import Browser, Page, sync_playwright
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
]


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
