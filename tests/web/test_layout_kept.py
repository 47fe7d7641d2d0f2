"""The signed-in header is kept rendered per process (app/navigation.py): each person still sees
their own name, centre, menu, count of notices waiting, current page and sign-out token."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.extensions import current_settings
from app.notices import services as notices
from app.roles import Role
from parts_catalog.importer import import_release
from tests.conftest import AuthActions
from tests.factories import make_centre, make_user
from tests.notices.test_notices import asked
from tests.parts_catalog.releases import base_release

WHO = re.compile(r'<span class="who">([^<]*)</span>')
CURRENT = re.compile(r'<a href="([^"]+)" aria-current="page">')
SIGN_OUT = re.compile(
    r'action="/logout" class="inline">\s*<input type="hidden" name="csrf_token" value="([^"]+)"'
)


def test_each_person_sees_their_own_name_centre_and_token(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    north = make_centre(session, name="Northside")
    auth.login(user=make_user(session, role=Role.TECHNICIAN, centre=north, name="Nora North"))
    other = app.test_client()
    AuthActions(other, session).login(user=make_user(session, role=Role.ENGINEER, name="Sam Solo"))
    mine = client.get("/catalog/").get_data(as_text=True)
    theirs = other.get("/catalog/").get_data(as_text=True)
    assert WHO.findall(mine) == ["Nora North · Technician · Northside"]
    assert WHO.findall(theirs) == ["Sam Solo · Product engineer"]
    [token] = SIGN_OUT.findall(theirs)
    assert token != SIGN_OUT.findall(mine)[0]
    # The token in the kept header signs this person out.
    assert other.post("/logout", data={"csrf_token": token}).status_code == 302
    assert other.get("/catalog/").status_code in (302, 401)


def test_the_current_page_and_a_renamed_person_show_at_once(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    user = auth.login(Role.TECHNICIAN)
    assert CURRENT.findall(client.get("/catalog/").get_data(as_text=True)) == ["/catalog/"]
    assert CURRENT.findall(client.get("/orders/cart").get_data(as_text=True)) == ["/orders/cart"]
    user.name = "Renamed Person"
    session.commit()
    assert "Renamed Person · Technician" in client.get("/catalog/").get_data(as_text=True)


def test_the_count_of_notices_waiting_follows_publication_and_acknowledgement(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")  # what it names
    technician = auth.login(Role.TECHNICIAN)
    assert ">Notices</a>" in client.get("/catalog/").get_data(as_text=True)
    author = make_user(session, role=Role.ENGINEER)
    notice = notices.create(session, by=author, asked=asked(title="Check C512"))
    notices.review(session, notice, by=make_user(session, role=Role.ADMIN))
    with app.app_context():
        notices.publish(session, notice, by=author, mailer=current_settings().mail)
    session.commit()
    assert ">Notices (1)</a>" in client.get("/catalog/").get_data(as_text=True)
    notices.acknowledge(session, notice, by=technician)
    session.commit()
    assert ">Notices</a>" in client.get("/catalog/").get_data(as_text=True)


def test_the_layouts_fixed_addresses_follow_the_applications_root(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    here = client.get("/catalog/").get_data(as_text=True)
    there = client.get("/catalog/", base_url="http://localhost/portal").get_data(as_text=True)
    assert 'href="/static/benchside.css"' in here
    assert 'href="/portal/static/benchside.css"' in there
    assert 'class="brand" href="/portal/"' in there
    assert 'href="/portal/catalog/" aria-current="page"' in there
