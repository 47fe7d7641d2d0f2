"""The account page: a person makes an API token, sees it once, and loses it with the password."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from app.roles import Role
from tests.browser.conftest import LiveServer
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

NEW = "a brand new passphrase"


def api_status(live_server: LiveServer, token: str) -> int:
    request = urllib.request.Request(
        live_server.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_token_made_on_the_account_page_ends_with_the_password(
    page: Page, live_server: LiveServer
) -> None:
    with live_server.session() as session:
        user = make_user(session, role=Role.ENGINEER)
        session.commit()
    live_server.sign_in(page, user.email)
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()
    page.get_by_role("button", name="Make a new token").click()
    expect(page.get_by_text("shown only this once")).to_be_visible()
    token = page.locator("code.token").inner_text()
    assert re.fullmatch(r"bs_[A-Za-z0-9_-]{40,}", token)
    assert api_status(live_server, token) == 200
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_text(token)).to_have_count(0)
    expect(page.get_by_role("row")).to_have_count(2)  # the heading and the token
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=False).first.fill(NEW)
    page.get_by_label("Repeat the new password").fill(NEW)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your 1 API token was revoked")).to_be_visible()
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()
    assert api_status(live_server, token) == 401
