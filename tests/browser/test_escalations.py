from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import delete, func, select

from app.auth.models import LoginSession
from app.escalations.models import Attachment, Ticket
from app.roles import Role
from tests.browser.conftest import LiveServer
from tests.factories import PASSWORD, make_user

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


def test_the_file_and_the_text_survive_an_error_and_an_expired_sign_in(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    with live_server.session() as session:
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    photo = tmp_path / "board.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 256)
    disguised = tmp_path / "setup.jpg"
    disguised.write_bytes(b"MZ\x90\x00 a program, not a photo")
    context = browser.new_context()
    page = context.new_page()
    live_server.sign_in(page, user.email)
    page.goto(live_server.url + "/escalations/new")
    page.get_by_label("Subject").fill("No picture after the T-CON swap")
    page.get_by_label("Photos, logs or PDFs").set_input_files([str(photo), str(disguised)])
    expect(page.get_by_text("board.png · attached")).to_be_visible()
    expect(page.get_by_text("“setup.jpg” is not a photo")).to_be_visible()
    page.get_by_label("What happens, and what you tried").fill("Backlight on, no picture.")
    page.get_by_role("button", name="Send the escalation").click()  # no model number
    expect(page.get_by_label("Model number")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("board.png (0.3 KB) · attached")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("No picture after the T-CON swap")
    # The sign-in expires while the technician finishes the form.
    with live_server.session() as session:
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        session.commit()
    page.get_by_label("Model number").fill("KDL-55W800C")
    page.get_by_role("button", name="Send the escalation").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Here is what you sent before signing in again")).to_be_visible()
    expect(page.get_by_label("Model number")).to_have_value("KDL-55W800C")
    expect(page.get_by_label("What happens, and what you tried")).to_have_value(
        "Backlight on, no picture."
    )
    expect(page.get_by_text("board.png (0.3 KB) · attached")).to_be_visible()
    page.get_by_role("button", name="Send the escalation").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("We have it: ESC-")
    with live_server.session() as session:
        ticket = session.scalar(select(Ticket))
        assert ticket is not None
        files = session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()
        assert [f.filename for f in files] == ["board.png"]
    context.close()


def test_what_was_typed_for_a_walk_wins_over_its_prefill_after_a_failed_submit(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    from diagnostics import services, trees
    from parts_catalog.importer import import_release
    from tests.diagnostics.test_trees import TREE
    from tests.parts_catalog.releases import base_release

    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        services.import_tree(session, trees.dump(TREE), by="eng", publish=True)
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    context = browser.new_context()
    page = context.new_page()
    live_server.sign_in(page, user.email)
    page.goto(live_server.url + "/diagnose")
    page.get_by_role("textbox", name="Code").fill("2")
    page.get_by_role("textbox", name="Model number").first.fill("kdl 55w800c")
    page.get_by_role("button", name="Open the tree").click()
    page.get_by_label("Measured value").fill("12.0")
    page.get_by_role("button", name="Continue").click()
    walk_url = page.url
    page.get_by_role("link", name="Escalate with this path").click()
    description = page.get_by_label("What happens, and what you tried")
    expect(description).to_contain_text("Diagnostic session")  # the walk's prefill
    typed = description.input_value() + "F5001 measured 0.2 ohm; C6120 bulging."
    description.fill(typed)
    page.get_by_label("Serial number").fill("4012345")
    page.get_by_label("Subject").fill("")  # a mandatory field left empty
    page.get_by_role("button", name="Send the escalation").click()
    expect(page.get_by_label("Subject")).to_have_attribute("aria-invalid", "true")
    expect(description).to_have_value(typed)
    # Back to the walk, and "Escalate with this path" again: what was typed, not the prefill.
    page.goto(walk_url)
    page.get_by_role("link", name="Escalate with this path").click()
    expect(description).to_have_value(typed)
    expect(page.get_by_label("Serial number")).to_have_value("4012345")
    expect(page.get_by_label("Subject")).to_have_value("")
    # Typed again and left at once (no time for the autosave): the next visit still has it.
    description.fill(typed + " Second try.")
    page.goto(walk_url)
    page.get_by_role("link", name="Escalate with this path").click()
    expect(description).to_have_value(typed + " Second try.")
    # A new window, the browser's storage gone (a crash): the server's draft still wins.
    page.evaluate("localStorage.clear()")
    other = context.new_page()
    other.goto(walk_url)
    other.get_by_role("link", name="Escalate with this path").click()
    expect(other.get_by_label("What happens, and what you tried")).to_have_value(
        typed + " Second try."
    )
    other.get_by_label("Subject").fill("Still shuts down")
    other.get_by_role("button", name="Send the escalation").click()
    expect(other.get_by_role("heading", level=1)).to_contain_text("We have it: ESC-")
    # Sent: the walk's form starts from its prefill again.
    other.goto(walk_url)
    other.get_by_role("link", name="Escalate with this path").click()
    expect(other.get_by_label("Serial number")).not_to_have_value("4012345")
    with live_server.session() as session:
        ticket = session.scalar(select(Ticket))
        assert ticket is not None
        assert ticket.description.endswith("C6120 bulging. Second try.")
    context.close()
