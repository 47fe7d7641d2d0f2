"""Reading a rating plate's barcode with the phone's camera (scan.js), in Chromium with its fake
camera (a test pattern, allowed without asking). Headless Chromium has no BarcodeDetector of its
own, so the page gets one whose detect() reads ``window.plate``, and checks it was shown the
camera's live stream: what the phone's detector would decode is the only thing stood in for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from app.repairs.models import Repair
from app.roles import Role
from diagnostics import services, trees
from parts_catalog.importer import import_release
from tests.browser.conftest import VIEWPORTS, LiveServer, assert_fits, assert_touchable
from tests.diagnostics.test_trees import TREE
from tests.factories import make_user
from tests.parts_catalog.releases import base_release

pytestmark = pytest.mark.browser

#: A stand-in for the browser's BarcodeDetector: it "sees" window.plate once the camera runs.
#: (The Scan buttons are named "Scan the model number": the fields are found as textboxes.)
DETECTOR = """
window.plate = null;
window.shown = [];
window.BarcodeDetector = class {
  static getSupportedFormats() {
    return Promise.resolve(["code_128", "data_matrix", "qr_code"]);
  }
  detect(source) {
    const stream = source && source.srcObject;
    const live = !!stream && stream.getVideoTracks().some(t => t.readyState === "live");
    window.shown.push(stream);
    const raw = live ? window.plate : null;
    window.plate = null;  // read once: the next scan is of another plate
    return Promise.resolve(raw ? [{format: "qr_code", rawValue: raw}] : []);
  }
};
"""

#: Every stream the detector was shown has been switched off.
CAMERA_OFF = "window.shown.every(s => s.getTracks().every(t => t.readyState === 'ended'))"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORTS["phone"], has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _technician(live_server: LiveServer, tmp_path: Path) -> str:
    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        services.import_tree(session, trees.dump(TREE), by="eng", publish=True)
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    live_server.update_search_index()
    return user.email


def _sign_in(live_server: LiveServer, page: Page, email: str) -> None:
    live_server.sign_in(page, email)
    expect(page).to_have_url(live_server.url + "/")


def _show(page: Page, raw: str) -> None:
    """Hold a plate whose code reads ``raw`` in front of the camera, once it is on."""
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.get_by_role("dialog").get_by_role("status")).to_have_text(
        "Hold the barcode on the rating plate in front of the camera."
    )
    page.evaluate("raw => { window.plate = raw; }", raw)


def test_the_header_search_looks_up_a_scanned_model(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = phone
    page.add_init_script(DETECTOR)
    _sign_in(live_server, page, _technician(live_server, tmp_path))
    scan = page.get_by_role("button", name="Scan a number to look up")
    assert_touchable(scan, page.get_by_role("combobox", name="Search parts and models"))
    assert_fits(page)
    scan.tap()
    # A plate's QR code with labelled values: the search takes the model.
    _show(page, "MODEL: KDL-55W800C SN: 4012345")
    expect(page).to_have_url(live_server.url + "/search?q=KDL-55W800C")
    expect(page.get_by_role("link", name="KDL-55W800C").first).to_be_visible()


def test_a_plate_fills_the_repairs_model_and_serial_and_the_camera_goes_off(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = phone
    page.add_init_script(DETECTOR)
    _sign_in(live_server, page, _technician(live_server, tmp_path))
    page.goto(live_server.url + "/repairs/new")
    model = page.get_by_role("textbox", name="Model number")
    serial = page.get_by_role("textbox", name="Serial number")
    scan_serial = page.get_by_role("button", name="Scan the serial number")
    assert_touchable(page.get_by_role("button", name="Scan the model number"), scan_serial, serial)
    assert_fits(page)
    scan_serial.tap()
    expect(page.get_by_role("heading", name="Scan the serial number")).to_be_visible()
    # A GS1 code as printed under it: the maker's product id (240) and the serial (21).
    _show(page, "(01)04012345678901(240)KDL-55W800C(21)4012345")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(model).to_have_value("KDL-55W800C")
    expect(serial).to_have_value("4012345")
    expect(
        page.get_by_text("Read from the barcode: model KDL-55W800C, serial 4012345.")
    ).to_be_visible()
    expect(serial).to_be_focused()
    assert page.evaluate("window.shown.length") > 0
    assert page.evaluate(CAMERA_OFF)
    # The rest is typed, and the repair is opened with what was read.
    page.get_by_label("Customer complaint").fill("No picture; the red light blinks twice")
    page.get_by_role("button", name="Open the repair").tap()
    expect(page.get_by_role("heading", level=1)).to_contain_text("REP-")
    with live_server.session() as session:
        repair = session.scalars(select(Repair)).one()
        assert (repair.model_number, repair.serial) == ("KDL-55W800C", "4012345")


def test_a_plate_fills_the_diagnose_form_and_typing_instead_turns_the_camera_off(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = phone
    page.add_init_script(DETECTOR)
    _sign_in(live_server, page, _technician(live_server, tmp_path))
    page.goto(live_server.url + "/diagnose")
    assert_fits(page)
    code_form = page.locator("form").filter(has=page.get_by_role("button", name="Open the tree"))
    code_form.get_by_role("button", name="Scan the model number").tap()
    # A code that holds just the model (a Code 128 on the plate): it fills the field pressed.
    _show(page, "KDL-55W800C")
    expect(code_form.get_by_role("textbox", name="Model number")).to_have_value("KDL-55W800C")
    expect(code_form.get_by_role("textbox", name="Serial number")).to_have_value("")
    # A plate that cannot be read: type it instead; the camera goes off at once.
    code_form.get_by_role("button", name="Scan the serial number").tap()
    expect(page.get_by_role("dialog").get_by_role("status")).to_contain_text("Hold the barcode")
    assert_fits(page)
    assert_touchable(page.get_by_role("button", name="Type it instead"))
    page.get_by_role("button", name="Type it instead").tap()
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert page.evaluate(CAMERA_OFF)
    serial = code_form.get_by_role("textbox", name="Serial number")
    expect(serial).to_be_focused()
    serial.fill("4012345")
    code_form.get_by_role("textbox", name="Code").fill("2")
    code_form.get_by_role("button", name="Open the tree").tap()
    expect(page.get_by_role("navigation", name="Your answers so far")).to_contain_text(
        "How many times does it blink? 2"
    )
    expect(page.get_by_text("KDL-55W800C · serial 4012345 · code blink:2")).to_be_visible()


#: What rating plates print, as the detector hands it over -> (model, serial) in the repair form.
GS = "\x1d"
PLATES = [
    ("MODEL: KDL-55W800C SN: 4012345", ("KDL-55W800C", "4012345")),
    ("Model No.=KDL-55W800C;S/N=4012345", ("KDL-55W800C", "4012345")),
    ("M/N: XBR-55X900E\nSerial No: 7009001", ("XBR-55X900E", "7009001")),
    ("https://plate.example/u?model=KDL-55W800C&sn=4012345", ("KDL-55W800C", "4012345")),
    (f"]d20104012345678901{GS}240KDL-55W800C{GS}214012345", ("KDL-55W800C", "4012345")),
    (f"0104012345678901{GS}10LOT7{GS}21 4012345 ", ("", "4012345")),
    # Just a number: the field whose Scan button was pressed (the serial here) takes it.
    ("4012345", ("", "4012345")),
]


def test_the_plate_formats_scan_js_reads(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = phone
    page.add_init_script(DETECTOR)
    _sign_in(live_server, page, _technician(live_server, tmp_path))
    page.goto(live_server.url + "/repairs/new")
    model = page.get_by_role("textbox", name="Model number")
    serial = page.get_by_role("textbox", name="Serial number")
    read = []
    for raw, _ in PLATES:
        model.fill("")
        serial.fill("")
        page.get_by_role("button", name="Scan the serial number").tap()
        _show(page, raw)
        expect(page.get_by_role("dialog")).to_be_hidden()
        read.append((raw, (model.input_value(), serial.input_value())))
    assert read == PLATES
    # Longer than the field allows: cut to its length, as typing would be.
    page.get_by_role("button", name="Scan the model number").tap()
    _show(page, "X" * 60)
    expect(model).to_have_value("X" * 40)


def test_a_refused_camera_says_so_and_the_number_is_typed(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = phone
    page.add_init_script(DETECTOR)
    page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('refused', 'NotAllowedError'));"
    )
    _sign_in(live_server, page, _technician(live_server, tmp_path))
    page.goto(live_server.url + "/repairs/new")
    page.get_by_role("button", name="Scan the model number").tap()
    expect(page.get_by_role("dialog").get_by_role("status")).to_contain_text(
        "The camera is not allowed for this site"
    )
    page.get_by_role("button", name="Type it instead").tap()
    model = page.get_by_role("textbox", name="Model number")
    expect(model).to_be_focused()
    model.fill("KDL-55W800C")
    expect(model).to_have_value("KDL-55W800C")


def test_without_a_barcode_reader_there_is_no_scan_button_and_typing_works(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = phone
    # Headless Chromium, like Firefox and Safari, has no BarcodeDetector: the page as they get it.
    assert page.evaluate("'BarcodeDetector' in window") is False
    _sign_in(live_server, page, _technician(live_server, tmp_path))
    expect(page.get_by_role("combobox", name="Search parts and models")).to_be_visible()
    expect(page.get_by_role("button", name="Scan a number to look up")).to_have_count(0)
    page.goto(live_server.url + "/repairs/new")
    expect(page.get_by_role("textbox", name="Model number")).to_be_visible()
    expect(page.get_by_role("button", name="Scan the model number")).to_have_count(0)
    expect(page.get_by_role("button", name="Scan the serial number")).to_have_count(0)
    page.get_by_role("textbox", name="Model number").fill("KDL-55W800C")
    page.get_by_role("textbox", name="Serial number").fill("4012345")
    page.get_by_label("Customer complaint").fill("No picture")
    page.get_by_role("button", name="Open the repair").tap()
    expect(page.get_by_role("heading", level=1)).to_contain_text("REP-")
    box = page.get_by_role("combobox", name="Search parts and models")
    box.fill("KDL-55W800C")
    page.get_by_role("button", name="Search", exact=True).tap()
    expect(page).to_have_url(live_server.url + "/search?q=KDL-55W800C")
