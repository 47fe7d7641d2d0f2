"""Fixtures in the Pallets shape: ``app``, ``client``, ``runner``, ``auth``, and a ``session``.

The schema is built once per run by the migrations. Each test then runs inside a transaction that
is rolled back; the app's sessions join it through savepoints, so a view's ``commit()`` is real to
the view and gone after the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.auth import services
from app.auth.models import User
from app.db import make_engine
from app.roles import Role
from config import TestConfig
from tests import database
from tests.factories import PASSWORD, make_user
from tests.smtp import SmtpServer


def pytest_configure(config: pytest.Config) -> None:
    # Users made before any app exists (domain tests) are hashed at the suite's cost too.
    services.configure_password_hashing(
        time_cost=TestConfig.ARGON2_TIME_COST,
        memory_kib=TestConfig.ARGON2_MEMORY_KIB,
        parallelism=TestConfig.ARGON2_PARALLELISM,
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        action="store_true",
        help="run against TEST_DATABASE_URL (PostgreSQL) instead of a temporary SQLite file",
    )


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.config.getoption("--postgres"):
        if not TestConfig.TEST_DATABASE_URL:
            pytest.exit("--postgres needs TEST_DATABASE_URL", returncode=2)
        return TestConfig.TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    database.drop_everything(database_url)
    database.migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


def make_test_config(database_url: str, instance: Path) -> type[TestConfig]:
    class Config(TestConfig):
        DATABASE_URL = database_url
        SEARCH_INDEX_DIR = instance / "search"
        UPLOAD_DIR = instance / "uploads"
        BASE_URL = "http://localhost"

    return Config


@pytest.fixture
def app(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> Iterator[Flask]:
    app = create_app(make_test_config(database_url, tmp_path))
    app.extensions["session_factory"] = session_factory
    yield app
    app.extensions["engine"].dispose()  # what CLI commands opened on the real engine


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_token(client: FlaskClient, page: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page that has a form."""
    response = client.get(page, follow_redirects=True)
    match = _CSRF.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return match.group(1)


class AuthActions:
    def __init__(self, client: FlaskClient, session: Session) -> None:
        self._client = client
        self._session = session
        self.user: User | None = None

    def login(
        self, role: Role = Role.TECHNICIAN, *, user: User | None = None, remember: bool = False
    ) -> User:
        user = user or make_user(self._session, role=role)
        self._session.commit()
        response = self._client.post(
            "/login",
            data={
                "email": user.email,
                "password": PASSWORD,
                "remember": "y" if remember else "",
                "csrf_token": csrf_token(self._client),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        self.user = user
        return user

    def csrf(self) -> str:
        return csrf_token(self._client, "/")

    def logout(self) -> None:
        self._client.post("/logout", data={"csrf_token": self.csrf()})


@pytest.fixture
def auth(client: FlaskClient, session: Session) -> AuthActions:
    return AuthActions(client, session)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
