"""The technician's journeys on a phone (390 px) and a tablet (820 px), by touch: nothing scrolls
sideways, the folded menu opens and leads on, the controls a finger needs are big enough and on
screen, and tables become stacked, labelled rows on the phone."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import func, select

from app.escalations.models import Ticket
from app.navigation import menu_for
from app.orders.models import Order
from app.roles import Role
from diagnostics import services, trees
from parts_catalog.importer import import_release
from tests.browser.conftest import (
    TOUCH_TARGET_PX,
    VIEWPORTS,
    LiveServer,
    assert_fits,
    assert_table_layout,
    assert_touchable,
    is_phone,
    open_menu,
)
from tests.browser.test_scan import DETECTOR
from tests.diagnostics.test_trees import TREE
from tests.factories import make_user
from tests.parts_catalog.releases import base_release

pytestmark = pytest.mark.browser


def _technician(live_server: LiveServer, tmp_path: Path, *, tree: bool = False) -> str:
    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        if tree:
            services.import_tree(session, trees.dump(TREE), by="eng", publish=True)
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    return user.email


def _sign_in(live_server: LiveServer, page: Page, email: str) -> None:
    live_server.sign_in(page, email)
    expect(page).to_have_url(live_server.url + "/")


def _go(page: Page, label: str) -> None:
    """A menu entry, reached the way a person does on this screen."""
    link = open_menu(page).get_by_role("link", name=label, exact=True)
    assert_touchable(link)
    link.tap()


def test_look_up_a_number_from_the_header(
    bench_page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = bench_page
    email = _technician(live_server, tmp_path)
    live_server.update_search_index()
    _sign_in(live_server, page, email)
    assert_fits(page)
    # The search box is on every page and never behind the menu.
    box = page.get_by_role("combobox", name="Search parts and models")
    search = page.get_by_role("button", name="Search", exact=True)
    assert_touchable(box, search)
    box.tap()
    box.fill("1474 594 11")
    search.tap()
    expect(page).to_have_url(live_server.url + "/search?q=1474+594+11")
    assert_fits(page)
    result = page.get_by_role("listitem").filter(has_text="Superseded: order 1-474-594-12").first
    link = result.get_by_role("link", name="1-474-594-11")
    assert_touchable(link)
    link.tap()
    expect(page).to_have_url(live_server.url + "/catalog/parts/1-474-594-11")
    answer = page.get_by_role("region", name="What to order")
    expect(answer).to_contain_text("Order 1-474-594-12 × 1")
    expect(answer).to_contain_text("superseded one-way on 2024-03-01")
    assert_fits(page)
    assert_touchable(page.get_by_role("button", name="Add 1-474-594-12 × 1 to the cart"))


def test_walk_from_a_blink_code_to_the_fix(
    bench_page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = bench_page
    email = _technician(live_server, tmp_path, tree=True)
    _sign_in(live_server, page, email)
    _go(page, "Diagnose")
    expect(page.get_by_role("heading", level=1)).to_have_text("Diagnose a fault")
    assert_fits(page)
    code = page.get_by_role("textbox", name="Code")
    model = page.get_by_role("textbox", name="Model number").first
    start = page.get_by_role("button", name="Open the tree")
    assert_touchable(code, model, start)
    code.fill("2")
    model.fill("kdl 55w800c")
    start.tap()
    crumbs = page.get_by_role("navigation", name="Your answers so far")
    expect(crumbs).to_contain_text("How many times does it blink? 2")
    assert_fits(page)
    measured = page.get_by_label("Measured value")
    carry_on = page.get_by_role("button", name="Continue")
    assert_touchable(measured, carry_on)
    measured.fill("10.9")
    carry_on.tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fix")
    expect(page.get_by_text("Replace the power board")).to_be_visible()
    assert_fits(page)
    parts = page.get_by_role("table").filter(has_text="Order today")
    expect(parts).to_contain_text("1-474-594-12")
    assert_table_layout(parts, stacked=is_phone(page))
    assert_touchable(
        page.get_by_role("button", name="Add these parts to the cart"),
        page.get_by_role("link", name="Printable summary"),
    )
    # Printed from the phone or the tablet: the fix, without the header or its menu button.
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.get_by_text("Replace the power board")).to_be_visible()


def test_walk_from_a_symptom_into_the_cart_and_order(
    bench_page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = bench_page
    email = _technician(live_server, tmp_path, tree=True)
    _sign_in(live_server, page, email)
    _go(page, "Diagnose")
    page.get_by_role("textbox", name="What does the product do?").fill("standby blinking")
    page.get_by_role("button", name="Find trees").tap()
    tree = page.get_by_role("button", name=re.compile(TREE["title"]))
    assert_touchable(tree)
    assert_fits(page)
    tree.tap()
    two = page.get_by_role("button", name="2", exact=True)
    assert_touchable(two)
    two.tap()
    page.get_by_label("Measured value").fill("10")
    page.get_by_role("button", name="Continue").tap()
    add = page.get_by_role("button", name="Add these parts to the cart")
    assert_touchable(add)
    add.tap()
    # The cart: the old number the tree names, ordered as what ships today.
    cart = page.get_by_role("table")
    expect(cart).to_contain_text("1-474-594-12 replaces it (one-way)")
    assert_fits(page)
    assert_table_layout(cart, stacked=is_phone(page))
    reference = page.get_by_label("Your reference")
    place = page.get_by_role("button", name="Place the order")
    assert_touchable(reference, place)
    reference.fill("bench 3")
    place.tap()
    expect(page.get_by_role("heading", level=1)).to_contain_text("placed")
    assert_fits(page)
    with live_server.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_escalate_keeps_what_was_typed_and_gives_a_reference(
    bench_page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = bench_page
    email = _technician(live_server, tmp_path)
    _sign_in(live_server, page, email)
    _go(page, "Escalate")
    expect(page.get_by_role("heading", level=1)).to_have_text("Escalate to support")
    assert_fits(page)
    subject = page.get_by_label("Subject")
    description = page.get_by_label("What happens, and what you tried")
    send = page.get_by_role("button", name="Send the escalation")
    assert_touchable(subject, description, page.get_by_label("Model number"), send)
    subject.fill("Shuts down after 3 s")
    description.fill("12.1 V at CN6101; F5001 fine.")
    send.tap()  # no model number
    expect(page.get_by_label("Model number")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(subject).to_have_value("Shuts down after 3 s")
    expect(description).to_have_value("12.1 V at CN6101; F5001 fine.")
    assert_fits(page)
    page.get_by_label("Model number").fill("KDL-55W800C")
    send.tap()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"We have it: ESC-"))
    expect(page.get_by_text("First response by")).to_be_visible()
    expect(page.get_by_text("Resolution target:")).to_be_visible()
    assert_fits(page)
    with live_server.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_the_menu_folds_on_a_phone_and_opens_to_every_entry(
    bench_page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = bench_page
    email = _technician(live_server, tmp_path)
    _sign_in(live_server, page, email)
    menu = page.get_by_role("navigation", name="Main")
    toggle = page.get_by_role("button", name="Menu", exact=True)
    # Both the phone and the portrait tablet are below 60rem: the menu folds.
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
    open_menu(page)
    links = menu.get_by_role("link")
    with live_server.app.app_context():
        expect(links).to_have_count(len(menu_for(Role.TECHNICIAN)))
    for i in range(links.count()):
        assert_touchable(links.nth(i))
    assert_touchable(page.get_by_role("button", name="Sign out"))
    assert_fits(page)
    # Closed again by the same button, and by Escape, focus back on the button.
    toggle.tap()
    expect(menu).to_be_hidden()
    toggle.tap()
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(toggle).to_be_focused()


def test_a_wide_screen_shows_the_whole_menu_without_a_toggle(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    email = _technician(live_server, tmp_path)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in(live_server, page, email)
    expect(page.get_by_role("button", name="Menu", exact=True)).to_be_hidden()
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Escalate")).to_be_visible()
    assert_fits(page)
    context.close()


def test_without_javascript_the_menu_is_open_on_a_phone(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    email = _technician(live_server, tmp_path)
    context = browser.new_context(viewport=VIEWPORTS["phone"], java_script_enabled=False)
    page = context.new_page()
    _sign_in(live_server, page, email)
    expect(page.get_by_role("button", name="Menu", exact=True)).to_be_hidden()
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Escalate")).to_be_visible()
    assert_fits(page)
    context.close()


#: Who the crawler signs in as (the demo's people): what each role's menu leads to.
CRAWLED = ("tech", "manager", "engineer", "tier1", "tier2", "admin", "approver", "reviewer")
#: The narrowest phone the portal is made for.
NARROWEST: ViewportSize = {"width": 360, "height": 740}
#: Pages the menu's pages lead to that a crawl should not open: files, not pages.
NOT_PAGES = re.compile(
    r"/(export|download|files?|attachments?|drawings?)(/|$)|\.(csv|pdf|json|ya?ml|png|svg)$"
)
#: Pages a technician reaches by typing into a form.
BY_FORM = (
    "/search?q=power+board",
    "/search?q=KDL-55W800C",
    "/catalog/models/KDL-55W800C",
    "/diagnose?model=KDL-55W800C",
    "/diagnose?q=no+picture",
    "/diagnose/trees/tv-no-sound",
    "/repairs/new",
)


def _links(page: Page, selector: str) -> list[str]:
    # From the attribute: an SVG's <a> (a hotspot on an exploded view) has no string href.
    hrefs: list[str] = page.eval_on_selector_all(
        selector, "links => links.map(a => new URL(a.getAttribute('href'), document.baseURI).href)"
    )
    return hrefs


def _shape(url: str) -> str:
    """One page per kind: /orders/1 and /orders/2 are laid out alike."""
    path = urlsplit(url).path
    return "/".join("#" if re.search(r"\d", part) else part for part in path.split("/"))


@pytest.mark.parametrize(
    "screen",
    [NARROWEST, VIEWPORTS["tablet"], {"width": 1180, "height": 820}],
    ids=["phone", "tablet", "tablet-landscape"],
)
def test_no_page_any_role_reaches_scrolls_sideways(
    browser: Browser, live_server: LiveServer, screen: ViewportSize
) -> None:
    """Every page of each role's menu, and one page of each kind they lead to (a repair, an
    order, a ticket, a part, a tree, a user...), on the narrowest phone and a tablet with the
    demo's data:
    none is wider than the screen, and every control a finger must hit is 44 px high."""
    loaded = live_server.app.test_cli_runner().invoke(args=["demo", "load"])
    assert loaded.exit_code == 0, loaded.output
    _demo_work(live_server)
    live_server.update_search_index()
    too_wide: list[str] = []
    too_small: list[str] = []
    seen: set[str] = set()
    for local in CRAWLED:
        context = browser.new_context(viewport=screen, has_touch=True)
        context.add_init_script(DETECTOR)  # the Scan buttons of a phone that reads barcodes
        page = context.new_page()
        page.set_default_timeout(10_000)
        live_server.sign_in(page, f"{local}@benchside.example", f"demo-{local}-pass")
        expect(page).to_have_url(live_server.url + "/")
        pages = [*_links(page, "nav[aria-label=Main] a"), live_server.url + "/account"]
        if local == "tech":  # pages reached by a form, not a link
            pages += [live_server.url + path for path in BY_FORM]
        # The menu's pages, then one page of each kind they lead to, and one more step on.
        for depth in range(3):
            linked: list[str] = []
            for url in pages:
                _check(page, url, local, too_wide, too_small)
                for href in _links(page, "main a[href]") if depth < 2 else []:
                    shape = _shape(href)
                    if (
                        href.startswith(live_server.url)
                        and not NOT_PAGES.search(urlsplit(href).path)
                        and shape not in seen
                    ):
                        seen.add(shape)
                        linked.append(href)
            pages = linked
        context.close()
    assert len(seen) > 50  # the crawl did reach the pages behind the menus
    assert too_wide == []
    assert too_small == []


#: The controls a finger must hit that are less than a finger high, as "tag.class text height".
SMALL_TARGETS = """least => Array.from(document.querySelectorAll(
      'button, select, textarea, summary, a[href],'
      + ' input:not([type=hidden]):not([type=checkbox]):not([type=radio])'))
    .filter(e => !e.closest('.skip, .footer'))  // the skip link shows only when focused
    .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
    .filter(e => !e.closest('svg'))  // an exploded view's hotspots are drawn to its scale
    // A link inside a sentence is as tall as its text (WCAG 2.5.8 exempts it).
    .filter(e => e.tagName !== 'A' || !Array.from(e.parentElement.childNodes)
        .some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim()))
    .filter(e => e.getBoundingClientRect().height < least)
    .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' “'
        + (e.textContent || e.name || '').trim().slice(0, 30) + '” '
        + Math.round(e.getBoundingClientRect().height) + ' px')"""


def _check(page: Page, url: str, who: str, too_wide: list[str], too_small: list[str]) -> None:
    response = page.goto(url)
    if response is None or "text/html" not in (response.headers.get("content-type") or ""):
        return
    page.wait_for_load_state()
    scroll_width, screen = page.evaluate(
        "[document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    small = page.evaluate(SMALL_TARGETS, TOUCH_TARGET_PX)
    if small:
        too_small.append(f"{who} {page.url}: {', '.join(small)}")
    if scroll_width > screen:
        # The outermost elements that stick out: where the fix belongs.
        culprits = page.evaluate(
            """width => Array.from(document.querySelectorAll('body *'))
                .filter(e => e.getBoundingClientRect().right > width + 1)
                .filter(e => e.parentElement.getBoundingClientRect().right <= width + 1)
                .slice(0, 3)
                .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                          + ' ' + Math.round(e.getBoundingClientRect().right))""",
            screen,
        )
        too_wide.append(f"{who} {page.url}: {scroll_width} px ({', '.join(culprits)})")


def _demo_work(live_server: LiveServer) -> None:
    """What the demo lacks for the crawl: an order and an escalation of the demo's technician."""
    from app.auth.models import User
    from app.escalations import services as escalations
    from app.orders import services as orders
    from app.orders.services import OrderError
    from parts_catalog.models import PartVersion
    from tests.escalations import escalation_settings

    with live_server.session() as session:
        tech = session.scalars(select(User).where(User.email == "tech@benchside.example")).one()
        numbers = session.scalars(
            select(PartVersion.number)
            .where(PartVersion.unit_price.is_not(None), PartVersion.valid_to.is_(None))
            .order_by(PartVersion.number)
            .limit(20)
        )
        for number in numbers:
            try:
                orders.place(session, tech, [orders.Asked(number, 2)], reference="bench 3")
            except OrderError:
                continue
            break
        escalations.open_ticket(
            session,
            tech,
            escalations.Submission(
                subject="Shuts down after 3 s",
                description="12.1 V at CN6101; F5001 fine.",
                category="technical",
                model_number="KDL-55W800C",
            ),
            settings=escalation_settings(live_server.app),
        )
        session.commit()
