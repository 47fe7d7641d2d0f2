"""Sign-in, invitations and reset links raced by parallel requests on real connections.

Each request runs on its own thread with its own test client and its own database connection,
committing for real (the test's rolled-back transaction cannot be shared across connections);
every table is emptied afterwards. Run with ``pytest -s`` to see the figures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from app import create_app
from app.auth import services
from app.auth.models import LoginFailure, User
from app.db import make_engine
from app.roles import Role
from tests import database
from tests.conftest import csrf_token, make_test_config
from tests.factories import PASSWORD, make_user

PARALLEL = 60
WRONG = "That email address and password do not match an account."
THROTTLED = "Too many failed sign-in attempts"


@pytest.fixture
def real_app(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    """An app whose requests each take their own connection and commit for real."""
    if not database_url.startswith("postgresql"):
        # SQLite admits one writer at a time and answers the others "database is locked"
        # before they can race; these races are PostgreSQL's (the deployment's database).
        pytest.skip("parallel writers race on PostgreSQL (run with --postgres)")
    racing = make_engine(database_url, pool_size=20, max_overflow=0, pool_timeout=60)
    app = create_app(make_test_config(database_url, tmp_path))
    app.extensions["session_factory"] = sessionmaker(racing, expire_on_commit=False)
    yield app
    racing.dispose()
    app.extensions["engine"].dispose()
    database.delete_all_rows(engine)


def race(
    app: Flask, count: int, page: str, post: Callable[[int, FlaskClient, str], TestResponse]
) -> list[TestResponse]:
    """``count`` clients open ``page`` (for a CSRF token), then all post at the same moment."""
    clients = [app.test_client() for _ in range(count)]
    tokens = [csrf_token(client, page) for client in clients]
    start = threading.Barrier(count)
    responses: list[TestResponse | None] = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait(30)
            responses[n] = post(n, clients[n], tokens[n])
        except BaseException as exc:  # reported by the test, not lost in its thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


def _login(email: str, password: str) -> Callable[[int, FlaskClient, str], TestResponse]:
    def post(_n: int, client: FlaskClient, token: str) -> TestResponse:
        data = {"email": email, "password": password, "csrf_token": token}
        return client.post("/login", data=data)

    return post


def _checked(responses: list[TestResponse]) -> int:
    """Answers that needed the password: a sign-in, or a wrong password (not a refusal)."""
    return sum(r.status_code == 302 or WRONG in r.get_data(as_text=True) for r in responses)


def test_parallel_guesses_check_at_most_the_limit(real_app: Flask, engine: Engine) -> None:
    limit = real_app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    with Session(engine) as session:
        email = make_user(session).email
        session.commit()
    right_one = PARALLEL // 2

    def post(n: int, client: FlaskClient, token: str) -> TestResponse:
        password = PASSWORD if n == right_one else f"guess {n}"
        return _login(email, password)(n, client, token)

    responses = race(real_app, PARALLEL, "/login", post)
    checked = _checked(responses)
    print(f"\n{PARALLEL} parallel sign-ins: {checked} checked")
    assert {r.status_code for r in responses} <= {302, 422}
    assert checked <= limit
    refused = [r for r in responses if THROTTLED in r.get_data(as_text=True)]
    assert len(refused) == PARALLEL - checked
    with Session(engine) as session:
        failures = session.scalar(select(func.count()).where(LoginFailure.email == email))
    signed_in = responses[right_one].status_code == 302
    # Every checked guess left its failure behind, unless the right password was among them
    # (a sign-in starts the account's count afresh).
    assert signed_in or failures == checked
    if signed_in:
        return
    assert THROTTLED in responses[right_one].get_data(as_text=True)
    # Refused attempts are not counted: the rest of the window's guesses can still be made,
    # one by one, up to the limit and no further; then the right password is refused too.
    late = real_app.test_client()
    answers = [_login(email, f"late {n}")(n, late, csrf_token(late)) for n in range(limit)]
    assert sum(WRONG in a.get_data(as_text=True) for a in answers) == limit - checked
    right = _login(email, PASSWORD)(0, late, csrf_token(late))
    assert THROTTLED in right.get_data(as_text=True)


def test_parallel_guesses_from_one_address_check_at_most_its_limit(
    real_app: Flask, engine: Engine
) -> None:
    limit = real_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    assert limit < PARALLEL

    def post(n: int, client: FlaskClient, token: str) -> TestResponse:
        return _login(f"guess{n}@example.com", "guess")(n, client, token)

    responses = race(real_app, PARALLEL, "/login", post)
    checked = _checked(responses)
    print(f"\n{PARALLEL} parallel sign-ins from one address: {checked} checked")
    assert {r.status_code for r in responses} == {422}
    assert checked <= limit
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == checked


def test_an_invitation_accepted_twice_at_once_makes_one_account(
    real_app: Flask, engine: Engine
) -> None:
    with Session(engine) as session:
        admin = make_user(session, role=Role.ADMIN)
        _, token = services.invite(
            session,
            inviter=admin,
            email="twice@example.com",
            name="Twice",
            role=Role.ENGINEER,
            centre=None,
            valid_for=timedelta(days=1),
        )
        session.commit()
    path = f"/invitations/{token}"
    tries = 12

    def post(n: int, client: FlaskClient, csrf: str) -> TestResponse:
        password = f"passphrase number {n}"
        data = {"name": f"Twice {n}", "password": password, "confirm": password, "csrf_token": csrf}
        return client.post(path, data=data)

    responses = race(real_app, tries, path, post)
    statuses = sorted(r.status_code for r in responses)
    print(f"\n{tries} parallel acceptances of one invitation: {statuses.count(302)} accepted")
    assert statuses == [302] + [410] * (tries - 1)
    for refused in (r for r in responses if r.status_code == 410):
        assert "This invitation was already used" in refused.get_data(as_text=True)
    with Session(engine) as session:
        users = session.scalars(select(User).where(User.email == "twice@example.com")).all()
        assert len(users) == 1


def test_a_reset_link_used_twice_at_once_sets_one_password(real_app: Flask, engine: Engine) -> None:
    with Session(engine) as session:
        user = make_user(session)
        session.commit()
        token = services.make_reset_token(real_app.config["SECRET_KEY"], user)
        user_id = user.id
    path = f"/password/reset/{token}"
    tries = 12

    def post(n: int, client: FlaskClient, csrf: str) -> TestResponse:
        password = f"passphrase number {n}"
        return client.post(
            path, data={"password": password, "confirm": password, "csrf_token": csrf}
        )

    responses = race(real_app, tries, path, post)
    statuses = [r.status_code for r in responses]
    print(f"\n{tries} parallel uses of one reset link: {statuses.count(302)} set a password")
    assert sorted(statuses) == [302] + [410] * (tries - 1)
    for refused in (r for r in responses if r.status_code == 410):
        assert "This password reset link was already used" in refused.get_data(as_text=True)
    winner = statuses.index(302)
    with Session(engine) as session:
        stored = session.get(User, user_id)
        assert stored is not None
        assert services.password_matches(stored, f"passphrase number {winner}")


def test_two_password_changes_at_once_replace_it_once(real_app: Flask, engine: Engine) -> None:
    with Session(engine) as session:
        user = make_user(session)
        session.commit()
        user_id, email = user.id, user.email
    tries = 8
    clients = [real_app.test_client() for _ in range(tries)]
    for client in clients:  # one signed-in browser each, all knowing the current password
        signed_in = _login(email, PASSWORD)(0, client, csrf_token(client))
        assert signed_in.status_code == 302
    start = threading.Barrier(tries)
    responses: list[TestResponse | None] = [None] * tries

    def change(n: int) -> None:
        client, new = clients[n], f"passphrase number {n}"
        data = {"current": PASSWORD, "password": new, "confirm": new}
        token = csrf_token(client, "/account/password")
        start.wait(30)
        responses[n] = client.post("/account/password", data={**data, "csrf_token": token})

    threads = [threading.Thread(target=change, args=(n,)) for n in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(r is not None for r in responses)
    made = [n for n, r in enumerate(responses) if r and r.headers.get("Location") == "/account"]
    print(f"\n{tries} parallel changes of one password: {len(made)} made")
    # Only one change can replace the password they all knew. The others are told it is no
    # longer their current password, or, once the winner has signed them out, to sign in.
    assert len(made) == 1
    for n, response in enumerate(responses):
        if n in made or response is None:
            continue
        signed_out = response.headers.get("Location", "").startswith("/login")
        assert response.status_code == 422 or signed_out, response.status_code
        if response.status_code == 422:
            assert "That is not your current password" in response.get_data(as_text=True)
    with Session(engine) as session:
        stored = session.get(User, user_id)
        assert stored is not None
        assert services.password_matches(stored, f"passphrase number {made[0]}")
