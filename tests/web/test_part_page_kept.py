"""The part page keeps its catalogue answers per process (app/catalog/part_page.py): an import,
a published notice or a change of stock shows at once, on this app and on another app sharing
the database; what depends on the person is never kept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.extensions import current_settings
from app.notices import services as notices
from app.roles import Role
from parts_catalog.importer import import_release
from parts_catalog.models import StockLevel
from tests.conftest import AuthActions, make_test_config
from tests.factories import make_user
from tests.notices.test_notices import asked
from tests.parts_catalog.releases import (
    BASE_FITMENTS,
    BASE_MODELS,
    BASE_PARTS,
    base_release,
    model,
    part,
)

NUMBER = "1-474-594-12"
PAGE = f"/catalog/parts/{NUMBER}"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
    session.commit()


@pytest.fixture
def other_app(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> Iterator[Flask]:
    """A second node: its own process memory, the same database."""
    other = create_app(make_test_config(database_url, tmp_path / "other"))
    other.extensions["session_factory"] = session_factory
    yield other
    other.extensions["engine"].dispose()


def _second_release(session: Session, folder: Path) -> None:
    """2026.2: the part renamed, repriced and fitted to one more model."""
    parts = [
        part("1-474-594-12", "POWER BOARD (GL2B)", category="board", unit_price="91.00",
             currency="EUR", stock_qty="3", safety_critical="yes")
        if p["part_number"] == "1-474-594-12"
        else p
        for p in BASE_PARTS
    ]  # fmt: skip
    models = [*BASE_MODELS, model("KDL-65W850C", name="Bravia 65W850C", product_line="TV")]
    fitments = [
        *BASE_FITMENTS,
        {"model_number": "KDL-65W850C", "part_number": "1-474-594-12", "ref_no": "201",
         "diagram": "Main chassis", "quantity": "1"},
    ]  # fmt: skip
    import_release(
        session,
        path=base_release(folder, parts=parts, models=models, fitments=fitments),
        label="2026.2",
    )
    session.commit()


def _body(html: str) -> str:
    """The page from its head on (after a flashed message), without the CSRF tokens."""
    return CSRF.sub("", html[html.index('<div class="page-head">') :])


def _page(client: FlaskClient, url: str = PAGE) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.usefixtures("catalogue")
def test_an_import_changes_the_page_at_once(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    auth.login()
    before = _page(client)
    assert "POWER BOARD (GL2A)" in before
    assert "KDL-65W850C" not in before
    again = _page(client)
    assert len(app.extensions["part_pages"]) == 1  # read once, then kept
    assert _body(again) == _body(before)

    _second_release(session, tmp_path / "r2")
    after = _page(client)
    assert "POWER BOARD (GL2B)" in after
    assert "POWER BOARD (GL2A)" not in after.split("History across releases")[0]
    assert "91.00 EUR" in after
    assert "KDL-65W850C" in after  # the new fitment
    assert "2026.2 (newest)" in after
    # As of the first release the page still shows what that release said.
    earlier = _page(client, PAGE + "?as_of=2026.1")
    assert "POWER BOARD (GL2A)" in earlier.split("History across releases")[0]
    assert "KDL-65W850C" not in earlier


@pytest.mark.usefixtures("catalogue")
def test_an_import_through_another_node_changes_this_nodes_page(
    app: Flask,
    other_app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    session: Session,
    tmp_path: Path,
) -> None:
    auth.login()
    elsewhere = other_app.test_client()
    AuthActions(elsewhere, session).login()
    assert "KDL-65W850C" not in _page(client)
    assert "KDL-65W850C" not in _page(elsewhere)

    _second_release(session, tmp_path / "r2")  # as the other node's upload would
    assert "KDL-65W850C" in _page(client)
    assert "KDL-65W850C" in _page(elsewhere)


@pytest.mark.usefixtures("catalogue")
def test_a_published_notice_and_todays_stock_show_at_once(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login()
    before = _page(client)
    assert "3 in stock" in before
    assert "Notice about" not in before

    author = make_user(session, role=Role.ENGINEER)
    notice = notices.create(
        session, by=author, asked=asked(title="GL2A: check C512", targets={"part": [NUMBER]})
    )
    notices.review(session, notice, by=make_user(session, role=Role.ADMIN))
    with app.app_context():
        notices.publish(session, notice, by=author, mailer=current_settings().mail)
    session.execute(
        update(StockLevel).where(StockLevel.number_norm == "147459412").values(quantity=11)
    )
    session.commit()
    after = _page(client)
    assert "GL2A: check C512" in after
    assert "11 in stock" in after
    assert "3 in stock" not in after


@pytest.mark.usefixtures("catalogue")
def test_each_person_gets_their_own_token_and_buttons_on_a_kept_page(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    engineers = _page(client, "/catalog/parts/1-474-594-11")
    assert "to the cart</button>" not in engineers  # only those who order see the button

    technician = app.test_client()
    AuthActions(technician, session).login(Role.TECHNICIAN)
    technicians = _page(technician, "/catalog/parts/1-474-594-11")
    assert "to the cart</button>" in technicians
    mine, theirs = set(CSRF.findall(engineers)), set(CSRF.findall(technicians))
    assert len(mine) == len(theirs) == 1
    assert mine != theirs
    assert "csrf-" not in technicians  # no slot left unfilled
    # The report form in the kept fitment table works with the token put in for this person.
    response = technician.post(
        "/catalog/fitments/report",
        data={
            "part_number": "1-474-594-11",
            "model_number": "KDL-55W800C",
            "ref_no": "101",
            "csrf_token": theirs.pop(),
        },
    )
    assert response.status_code == 302


@pytest.mark.usefixtures("catalogue")
def test_a_release_asked_for_before_it_is_imported_is_found_once_it_is(
    client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    auth.login()
    assert client.get(PAGE + "?as_of=2026.2").status_code == 404
    _second_release(session, tmp_path / "r2")
    assert "KDL-65W850C" in _page(client, PAGE + "?as_of=2026.2")
    assert "KDL-65W850C" not in _page(client, PAGE + "?as_of=2026.1")
