"""Argon2id at the portal's real cost: the rest of the suite hashes cheaply (TestConfig)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.auth import services
from config import Config, TestConfig
from tests.conftest import csrf_token, make_test_config
from tests.factories import PASSWORD, make_user


@pytest.fixture
def production_cost() -> Iterator[None]:
    services.configure_password_hashing(
        time_cost=Config.ARGON2_TIME_COST,
        memory_kib=Config.ARGON2_MEMORY_KIB,
        parallelism=Config.ARGON2_PARALLELISM,
    )
    yield
    services.configure_password_hashing(
        time_cost=TestConfig.ARGON2_TIME_COST,
        memory_kib=TestConfig.ARGON2_MEMORY_KIB,
        parallelism=TestConfig.ARGON2_PARALLELISM,
    )


def test_the_default_cost_is_argon2_cffis_recommended_one() -> None:
    recommended = PasswordHasher()
    assert (
        recommended.time_cost,
        recommended.memory_cost,
        recommended.parallelism,
    ) == (Config.ARGON2_TIME_COST, Config.ARGON2_MEMORY_KIB, Config.ARGON2_PARALLELISM)


@pytest.mark.usefixtures("production_cost")
def test_passwords_are_argon2id_at_the_configured_cost(session: Session) -> None:
    user = make_user(session)
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_cheaper_hash_is_raised_to_the_configured_cost_at_sign_in(
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    tmp_path: Path,
    production_cost: None,
) -> None:
    services.configure_password_hashing(time_cost=1, memory_kib=8, parallelism=1)
    user = make_user(session)
    session.commit()
    assert "m=8,t=1,p=1" in user.password_hash

    class RealCost(make_test_config(database_url, tmp_path)):
        ARGON2_TIME_COST = Config.ARGON2_TIME_COST
        ARGON2_MEMORY_KIB = Config.ARGON2_MEMORY_KIB
        ARGON2_PARALLELISM = Config.ARGON2_PARALLELISM

    app = create_app(RealCost)
    app.extensions["session_factory"] = session_factory
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    session.refresh(user)
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    app.extensions["engine"].dispose()
