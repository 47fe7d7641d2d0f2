from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select

from app.escalations.models import Ticket
from app.roles import Role
from tests.browser.conftest import LiveServer
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_nothing_typed_is_lost_and_one_click_is_one_ticket(
    browser: Browser, live_server: LiveServer
) -> None:
    with live_server.session() as session:
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    context = browser.new_context()
    page = context.new_page()
    live_server.sign_in(page, user.email)
    page.goto(live_server.url + "/escalations/new")
    page.get_by_label("Subject").fill("Shuts down after 3 s")
    page.get_by_label("What happens, and what you tried").fill("12.1 V at CN6101; F5001 fine.")
    expect(page.get_by_role("status").filter(has_text="Draft saved")).to_be_visible(timeout=8000)
    # A crash: a new browser window, the same account: the server's draft comes back.
    page.close()
    page = context.new_page()
    page.goto(live_server.url + "/escalations/new")
    expect(page.get_by_label("Subject")).to_have_value("Shuts down after 3 s")
    # A missing mandatory field: everything typed stays.
    page.get_by_role("button", name="Send the escalation").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(page.get_by_label("What happens, and what you tried")).to_have_value(
        "12.1 V at CN6101; F5001 fine."
    )
    page.get_by_label("Model number").fill("KDL-55W800C")
    page.get_by_role("button", name="Send the escalation").dblclick()
    expect(page.get_by_role("heading", level=1)).to_contain_text("We have it: ESC-")
    with live_server.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
    context.close()
