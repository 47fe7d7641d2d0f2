from __future__ import annotations

import copy
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.roles import Role
from diagnostics import services, trees
from parts_catalog.importer import import_release
from tests.browser.conftest import LiveServer
from tests.diagnostics.test_trees import TREE
from tests.factories import make_user
from tests.parts_catalog.releases import base_release

pytestmark = pytest.mark.browser


def test_from_a_blink_code_to_the_part_to_order(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        services.import_tree(session, trees.dump(TREE), by="eng", publish=True)
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    live_server.sign_in(page, user.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Diagnose").click()
    # The code as the TV shows it, the model in any spelling.
    page.get_by_role("textbox", name="Code").fill("2")
    page.get_by_role("textbox", name="Model number").first.fill("kdl 55w800c")
    page.get_by_role("button", name="Open the tree").click()
    # The code answered the first question; the breadcrumb says so.
    crumbs = page.get_by_role("navigation", name="Your answers so far")
    expect(crumbs).to_contain_text("How many times does it blink? 2")
    # A mistyped measurement comes back with what was typed and says why.
    page.get_by_label("Measured value").fill("ten")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("“ten” is not a number in V")
    expect(page.get_by_label("Measured value")).to_have_value("ten")
    page.get_by_label("Measured value").fill("10.9")
    page.get_by_role("button", name="Continue").click()
    # The path so far, and back without losing the answer.
    expect(page.get_by_role("navigation", name="Your answers so far")).to_contain_text("10.9 V")
    page.get_by_role("button", name="← Back").click()
    expect(page.get_by_label("Measured value")).to_have_value("10.9")
    page.get_by_role("button", name="Continue").click()
    # The fix names a superseded part: the page orders its replacement.
    expect(page.get_by_role("heading", level=1)).to_have_text("Fix")
    expect(page.get_by_text("Replace the power board")).to_be_visible()
    expect(page.get_by_role("cell", name="1-474-594-12", exact=True)).to_be_visible()
    order = page.get_by_label("The parts as a list, to copy")
    expect(order).to_have_value("1-474-594-12 × 1\n")
    page.get_by_role("link", name="Printable summary").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TREE["title"])


def test_script_in_a_tree_never_runs_for_a_technician(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    from tests.web.test_rendering import PAYLOADS

    document = copy.deepcopy(TREE)
    document["nodes"]["count"]["text"] = "How many blinks? " + " ".join(PAYLOADS[:6])
    document["nodes"]["backlight"]["text"] = "Check " + " ".join(PAYLOADS[6:])
    document["nodes"]["replace-psu"]["text"] = "\n\n".join(PAYLOADS)
    document["nodes"]["count"]["options"][1]["label"] = '6"><img src=x onerror=alert(2)>'
    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        services.import_tree(session, trees.dump(document), by="eng", publish=True)
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    live_server.sign_in(page, user.email)
    page.goto(live_server.url + "/diagnose/trees/tv-red-led-blinks")
    page.get_by_role("button", name="Start the tree").click()
    page.get_by_role("button", name="6").click()
    page.get_by_role("button", name="Done, continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fix")
    page.get_by_role("link", name="Printable summary").click()
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator("script:not([src])").count() == 0


def test_a_fix_adds_its_parts_to_the_cart(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        services.import_tree(session, trees.dump(TREE), by="eng", publish=True)
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    live_server.sign_in(page, user.email)
    page.goto(live_server.url + "/diagnose/trees/tv-red-led-blinks")
    page.get_by_role("button", name="Start the tree").click()
    page.get_by_role("button", name="2", exact=True).click()
    page.get_by_label("Measured value").fill("10")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Add these parts to the cart").click()
    # In the cart, the old number the tree names resolves to what ships today.
    expect(page.get_by_role("table")).to_contain_text(
        "You asked for 1-474-594-11; 1-474-594-12 replaces it (one-way)."
    )
