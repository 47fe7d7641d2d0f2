"""The resolution API's short way (issue 20): the same bytes, the same OpenAPI document, one
statement for the token and the newest release, and a token that stops working at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.api.schemas import ResolutionSchema
from app.auth import services as accounts
from app.auth.models import ApiToken, User
from parts_catalog import documents
from parts_catalog import services as catalog
from parts_catalog.importer import import_release
from tests.conftest import AuthActions, make_test_config
from tests.factories import make_user
from tests.parts_catalog.releases import BASE_PARTS, base_release, part

#: Every kind of answer: current, superseded over two hops, a kit, a conditional row with its
#: note, a serial range, a part no longer available, a two-way row and a merge.
PARTS = [
    *BASE_PARTS,
    part("1-474-594-13", "POWER BOARD (GL2B)"),
    part("1-100-000-11", "KIT OLD"),
    part("1-100-000-21", "KIT PART A"),
    part("1-100-000-22", "KIT PART B"),
    part("1-200-000-11", "COND OLD"),
    part("1-200-000-12", "COND NEW"),
    part("1-300-000-11", "SERIAL OLD"),
    part("1-300-000-12", "SERIAL NEW"),
    part("1-400-000-11", "GONE", status="nla"),
    part("1-500-000-11", "MERGE A"),
    part("1-500-000-12", "MERGE B"),
    part("1-500-000-13", "MERGED"),
]


def row(old: str, new: str, **extra: str) -> dict[str, object]:
    return {"old_part_number": old, "new_part_number": new, **extra}


SUPERSESSIONS = [
    row("1-474-594-11", "1-474-594-12", interchangeability="one_way", effective_on="2024-03-01"),
    row("1-474-594-12", "1-474-594-13", interchangeability="two_way"),
    row("1-100-000-11", "1-100-000-21", quantity="2"),
    row("1-100-000-11", "1-100-000-22"),
    row("1-200-000-11", "1-200-000-12", interchangeability="conditional", note="Only with cable"),
    row("1-300-000-11", "1-300-000-12", serial_from="4012345"),
    row("1-500-000-11", "1-500-000-13"),
    row("1-500-000-12", "1-500-000-13"),
]
ASKED = [
    *(str(p["part_number"]) for p in PARTS),
    "1474594-11",
    "1 100 000 11",
    "9-999-999-99",
]


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1", supersessions=[]), label="2026.1")
    path = base_release(tmp_path / "r2", parts=PARTS, supersessions=SUPERSESSIONS)
    import_release(session, path=path, label="2026.2")
    session.commit()


@pytest.fixture
def token(session: Session) -> str:
    user = make_user(session)
    issued = accounts.issue_api_token(session, user)
    session.commit()
    return issued


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def resolution_path(number: str) -> str:
    return f"/api/v1/parts/{number}/resolution"


@pytest.mark.usefixtures("catalogue")
def test_every_kind_of_answer_is_exactly_what_the_schema_dumps(session: Session) -> None:
    release = catalog.release_for(session)
    schema = ResolutionSchema()
    outcomes = set()
    for number in ASKED:
        for serial in (None, "4000000", "4999999"):
            answer = catalog.resolve_number(session, number, release=release, serial=serial)
            document = documents.resolution_document(answer, release=release.label)
            assert schema.dump(document) == document, number
            outcomes.add(answer.outcome)
    assert outcomes == {"current", "superseded", "kit", "no_longer_available", "unknown"}


@pytest.mark.usefixtures("catalogue")
def test_the_short_way_sends_the_same_bytes_as_webargs_and_marshmallow(
    client: FlaskClient, token: str
) -> None:
    for number in ASKED:
        plain = client.get(resolution_path(number), headers=bearer(token))
        # An empty serial is parsed by webargs and dumped by marshmallow, and means no serial.
        parsed = client.get(resolution_path(number) + "?serial=", headers=bearer(token))
        assert plain.status_code == parsed.status_code == 200
        assert plain.get_data() == parsed.get_data(), number
        assert plain.mimetype == parsed.mimetype == "application/json"


@pytest.mark.usefixtures("catalogue")
def test_a_query_string_is_still_checked_and_followed(client: FlaskClient, token: str) -> None:
    too_long = client.get(resolution_path("1-300-000-11") + "?serial=" + "9" * 41)
    assert too_long.status_code == 401  # no token: refused before anything is parsed
    refused = client.get(
        resolution_path("1-300-000-11") + "?serial=" + "9" * 41, headers=bearer(token)
    )
    assert refused.status_code == 422
    earlier = client.get(resolution_path("1-474-594-11") + "?as_of=2026.1", headers=bearer(token))
    assert earlier.get_json()["outcome"] == "current"
    assert earlier.get_json()["release"] == "2026.1"
    below = client.get(resolution_path("1-300-000-11") + "?serial=4000000", headers=bearer(token))
    assert below.get_json()["outcome"] == "current"


@pytest.mark.usefixtures("catalogue")
def test_the_token_and_the_newest_release_are_read_by_one_statement(
    app: Flask, client: FlaskClient, token: str, session: Session
) -> None:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    connection = session.connection()
    client.get(resolution_path("1-100-000-11"), headers=bearer(token))  # the use noted once
    event.listen(connection, "before_cursor_execute", note)
    try:
        answer = client.get(resolution_path("1-100-000-11"), headers=bearer(token))
    finally:
        event.remove(connection, "before_cursor_execute", note)
    assert answer.get_json()["outcome"] == "kit"
    assert answer.get_json()["release"] == "2026.2"
    releases = [s for s in seen if "catalog_releases" in s]
    assert len(releases) == 1
    assert "api_tokens" in releases[0]


@pytest.mark.usefixtures("catalogue")
def test_a_signed_in_browser_gets_the_same_answer_without_a_token(
    client: FlaskClient, auth: AuthActions, token: str, app: Flask
) -> None:
    by_token = app.test_client().get(resolution_path("1-474-594-11"), headers=bearer(token))
    auth.login()
    by_cookie = client.get(resolution_path("1-474-594-11"))
    assert by_cookie.status_code == 200
    assert by_cookie.get_data() == by_token.get_data()
    assert by_cookie.get_json()["result"][0]["part_number"] == "1-474-594-13"


@pytest.fixture
def second_worker(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> Iterator[Flask]:
    """Another app instance on the same database, as a second gunicorn worker is."""
    other = create_app(make_test_config(database_url, tmp_path / "second"))
    other.extensions["session_factory"] = session_factory
    yield other
    other.extensions["engine"].dispose()


def status_on_both(workers: list[Flask], token: str) -> list[int]:
    return [
        w.test_client().get(resolution_path("1-474-594-11"), headers=bearer(token)).status_code
        for w in workers
    ]


@pytest.mark.usefixtures("catalogue")
def test_a_revoked_token_stops_at_once_on_every_worker(
    app: Flask, second_worker: Flask, token: str, session: Session
) -> None:
    workers = [app, second_worker]
    assert status_on_both(workers, token) == [200, 200]
    session.execute(update(ApiToken).values(revoked_at=accounts.utcnow()))
    session.commit()
    assert status_on_both(workers, token) == [401, 401]


@pytest.mark.usefixtures("catalogue")
def test_a_disabled_owner_stops_at_once_on_every_worker(
    app: Flask, second_worker: Flask, token: str, session: Session
) -> None:
    workers = [app, second_worker]
    assert status_on_both(workers, token) == [200, 200]
    session.execute(update(User).values(is_enabled=False))
    session.commit()
    assert status_on_both(workers, token) == [401, 401]


@pytest.mark.usefixtures("catalogue")
def test_a_new_release_is_the_answer_at_once_on_every_worker(
    app: Flask, second_worker: Flask, token: str, session: Session, tmp_path: Path
) -> None:
    workers = [app, second_worker]

    def releases() -> list[str]:
        return [
            w.test_client()
            .get(resolution_path("1-474-594-11"), headers=bearer(token))
            .get_json()["release"]
            for w in workers
        ]

    assert releases() == ["2026.2", "2026.2"]
    path = base_release(tmp_path / "r3", parts=PARTS, supersessions=SUPERSESSIONS)
    import_release(session, path=path, label="2026.3")
    session.commit()
    assert releases() == ["2026.3", "2026.3"]


def test_a_token_opens_the_api_before_any_release_exists(client: FlaskClient, token: str) -> None:
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    answer = client.get(resolution_path("1-474-594-11"), headers=bearer(token))
    assert answer.status_code == 404
    assert json.loads(answer.get_data())["status"] == 404


@pytest.mark.usefixtures("catalogue")
def test_a_browser_sign_in_still_wins_over_a_token_sent_beside_it(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    browser_user = auth.login()
    other = make_user(session)
    other_token = accounts.issue_api_token(session, other)
    session.commit()
    seen = client.get("/api/v1/me", headers=bearer(other_token)).get_json()
    assert seen["email"] == browser_user.email


@pytest.mark.usefixtures("catalogue")
def test_an_unknown_token_is_refused_and_a_good_one_is_logged_by_its_user(
    client: FlaskClient, token: str, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="benchside.request")
    assert client.get(resolution_path("1-474-594-11"), headers=bearer("bs_nope")).status_code == 401
    assert client.get(resolution_path("1-474-594-11"), headers=bearer(token)).status_code == 200
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "benchside.request"]
    owner = session.scalars(select(ApiToken.user_id)).one()
    assert [line["user_id"] for line in logged] == [None, owner]
    assert [line["status"] for line in logged] == [401, 200]
