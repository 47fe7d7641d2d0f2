"""The search box answers a model typed with a serial with the unit's history."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.roles import Role
from parts_catalog.importer import import_release
from tests.conftest import AuthActions
from tests.parts_catalog.releases import base_release


def test_a_model_and_a_serial_in_the_search_box_lead_to_the_units_history(
    client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    session.commit()
    auth.login(Role.TECHNICIAN)
    page = client.get("/search", query_string={"q": "kdl-55w800c 4012345"})
    assert page.status_code == 200
    assert b'href="/serials/KDL-55W800C/4012345"' in page.data
    assert b"History of KDL-55W800C serial 4012345" in page.data
    history = client.get("/serials/KDL-55W800C/4012345")
    assert history.status_code == 200
    words = client.get("/search", query_string={"q": "power board kdl-55w800c"})
    assert b"History of" not in words.data
