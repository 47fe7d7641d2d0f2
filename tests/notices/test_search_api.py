"""Issue 18: the search API finds notices by words and by the numbers they target."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.auth import services as accounts
from app.roles import Role
from parts_catalog.importer import import_release
from tests.factories import make_user
from tests.notices.test_notices import _published
from tests.parts_catalog.releases import base_release


def test_kind_notices_finds_them_by_words_and_by_a_number_of_the_chain(
    client: FlaskClient, app: Flask, session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    notice = _published(session, app, targets={"part": ["1-474-594-12"]})
    tech = make_user(session, role=Role.TECHNICIAN)
    token = accounts.issue_api_token(session, tech)
    session.commit()

    def found(q: str, kind: str | None = "notices") -> list[str]:
        query = {"q": q, **({"kind": kind} if kind else {})}
        answer = client.get(
            "/api/v1/search", query_string=query, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.get_json()
        return [n["reference"] for n in answer.get_json()["notices"]]

    assert found("capacitor overheats") == [notice.reference]
    assert found("1474594-11") == [notice.reference]  # the old number of the chain
    assert found("A-2072-533-A") == []
    assert found("1-474-594-12", kind=None) == [notice.reference]  # beside the catalogue's hits
