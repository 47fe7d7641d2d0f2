"""Searches that find nothing are counted by week, words only; engineers see the commonest.

The race at the end runs on PostgreSQL (each request its own connection, committing for real):
many misses of one query at the same moment are each counted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.db import make_engine
from app.models import utcnow
from app.roles import Role
from app.search import misses
from app.search.models import SearchMiss
from tests import database
from tests.conftest import AuthActions, csrf_token, make_test_config
from tests.factories import PASSWORD, make_user
from tests.web.test_search import api, catalogue  # noqa: F401  (a fixture)

PARALLEL = 30


def counted(session: Session) -> dict[tuple[str, str], int]:
    session.expire_all()
    return {(m.kind, m.query): m.count for m in session.scalars(select(SearchMiss))}


# --- what is kept --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Power  Suply KDL-55W800C", ("power suply kdl-55w800c", "mixed")),
        ("pwoer   BOARD", ("pwoer board", "words")),
        # A number in any spelling counts as one: the catalogue's normal form.
        ("1-474-594-13", ("147459413", "number")),
        ("1474 594 13", ("147459413", "number")),
        ("a-2072-533-b", ("A2072533B", "number")),
        # Personal data is left out: email addresses, phone numbers in their usual shapes.
        ("joe.bloggs@example.com main board", ("main board", "words")),
        ("call 07700 900123 about psu", ("call about psu", "words")),
        ("+44 20 7946 0958 psu", ("psu", "words")),
        ("(555) 123-4567 backlight", ("backlight", "words")),
        ("tel:06-12-34-56-78 board", ("board", "words")),
        ("hdmi board 0612345678", ("hdmi board", "words")),
    ],
)
def test_what_is_counted(typed: str, kept: tuple[str, str]) -> None:
    assert misses.scrub(typed) == kept


@pytest.mark.parametrize("typed", ["joe@example.com", "07700 900123", "+31 6 1234 5678", " . "])
def test_nothing_left_is_not_counted(typed: str) -> None:
    assert misses.scrub(typed) is None


def test_the_table_holds_nothing_about_who_asked(engine: Engine) -> None:
    columns = {c["name"] for c in inspect(engine).get_columns("search_misses")}
    assert columns == {"week_starts_on", "kind", "query", "count"}


def test_misses_count_by_week(session: Session) -> None:
    monday, sunday, next_monday = date(2026, 11, 30), date(2026, 12, 6), date(2026, 12, 7)
    assert misses.week_of(sunday) == monday
    for day in (monday, sunday, next_monday):
        misses.record(session, "power suply", on=day)
    row = misses.record(session, "Power Suply", on=sunday)
    assert row is not None
    assert row.count == 3
    assert misses.record(session, "joe@example.com", on=sunday) is None
    weeks = misses.commonest(session, today=next_monday, weeks=2)
    assert [(w.starts_on, w.total) for w in weeks] == [(next_monday, 1), (monday, 3)]
    assert misses.prune(session, today=next_monday, keep_weeks=1) == 1
    assert counted(session) == {("words", "power suply"): 1}


def test_old_weeks_are_pruned_by_command(runner: FlaskCliRunner, session: Session) -> None:
    today = utcnow().date()
    misses.record(session, "this week", on=today)
    misses.record(session, "last week", on=today - timedelta(weeks=1))
    misses.record(session, "long ago", on=today - timedelta(weeks=30))
    session.commit()
    result = runner.invoke(args=["search", "prune-misses", "--keep-weeks", "2"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 count(s) of search misses older than 2 week(s)." in result.output
    assert set(counted(session)) == {("words", "this week"), ("words", "last week")}


# --- through the portal --------------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_a_miss_is_counted_without_personal_data(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    user = auth.login()
    assert client.get("/search?q=power+suply+kdl-55w800c").status_code == 200
    api(client, q="1-474-594-13")
    api(client, q="1474 594 13")
    api(client, q="xyzzy joe@example.com 07700 900123")
    assert counted(session) == {
        ("mixed", "power suply kdl-55w800c"): 1,
        ("number", "147459413"): 2,
        ("words", "xyzzy"): 1,
    }
    stored = " ".join(m.query for m in session.scalars(select(SearchMiss)))
    assert user.email not in stored
    assert "example" not in stored
    assert "07700" not in stored
    row = session.scalars(select(SearchMiss)).first()
    assert row is not None
    assert row.week_starts_on == misses.week_of(utcnow().date())


@pytest.mark.usefixtures("catalogue")
def test_what_is_not_a_miss(client: FlaskClient, auth: AuthActions, session: Session) -> None:
    auth.login()
    api(client, q="power board")  # found
    api(client, q="main baord")  # found, through a typo
    api(client, q="xyzzy", category="board")  # narrowed by a filter
    client.get("/search?q=xyzzy&page=2")  # past the first page
    client.get("/search?q=&kind=parts")  # nothing asked
    client.get("/search/suggest?q=xyzzy")  # typing, not searching
    assert counted(session) == {}


@pytest.mark.usefixtures("catalogue")
def test_engineers_see_the_commonest_misses(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    today = utcnow().date()
    for _ in range(3):
        misses.record(session, "mains lead", on=today)
    misses.record(session, "hdmi board", on=today)
    misses.record(session, "old query", on=today - timedelta(weeks=1))
    misses.record(session, "<script>alert(1)</script>", on=today)
    session.commit()
    auth.login(Role.ENGINEER)
    html = client.get("/search/misses").get_data(as_text=True)
    this_week = html[html.index("This week") : html.index("Last week")]
    assert this_week.index("mains lead") < this_week.index("hdmi board")  # commonest first
    assert '<td data-label="Times" class="num">3</td>' in this_week
    assert '<a href="/search?q=mains+lead">Try it</a>' in this_week
    assert "5 misses" in this_week
    assert "old query" in html[html.index("Last week") :]
    assert "&lt;script&gt;" in html
    assert "<script>alert" not in html
    assert 'href="/search/synonyms"' in html  # how to fix one


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.CENTRE_MANAGER, Role.AGENT_TIER1])
def test_others_may_not_see_the_misses(client: FlaskClient, auth: AuthActions, role: Role) -> None:
    auth.login(role)
    assert client.get("/search/misses").status_code == 403


# --- at the same moment --------------------------------------------------------------------------


@pytest.fixture
def real_app(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    """An app whose requests each take their own connection and commit for real."""
    if not database_url.startswith("postgresql"):
        # SQLite admits one writer at a time: there is no race to lose a count in.
        pytest.skip("parallel writers race on PostgreSQL (run with --postgres)")
    racing = make_engine(database_url, pool_size=PARALLEL, max_overflow=0, pool_timeout=60)
    app = create_app(make_test_config(database_url, tmp_path))
    app.extensions["session_factory"] = sessionmaker(racing, expire_on_commit=False)
    yield app
    racing.dispose()
    app.extensions["engine"].dispose()
    database.delete_all_rows(engine)


def test_misses_at_the_same_moment_are_all_counted(real_app: Flask, engine: Engine) -> None:
    with Session(engine) as session:
        email = make_user(session).email
        session.commit()
    clients = [real_app.test_client() for _ in range(PARALLEL)]
    for client in clients:
        token = csrf_token(client)
        signed = client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert signed.status_code == 302
    start = threading.Barrier(PARALLEL)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def search(client: FlaskClient) -> None:
        try:
            start.wait(30)
            statuses.append(client.get("/api/v1/search?q=flux+capacitor").status_code)
        except BaseException as exc:  # reported by the test, not lost in its thread
            errors.append(exc)

    threads = [threading.Thread(target=search, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert statuses == [200] * PARALLEL
    with Session(engine) as session:
        assert counted(session) == {("words", "flux capacitor"): PARALLEL}
