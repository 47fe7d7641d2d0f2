"""Races on repairs and exchanges, decided by the database: real requests on their own
connections, committing for real, all let go at the same moment (PostgreSQL, the deployment's
database; SQLite admits one writer and answers the others "database is locked").

Each test prints its figure."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from app import create_app
from app.auth import services as accounts
from app.auth.models import User
from app.db import make_engine
from app.models import utcnow
from app.orders.models import Order
from app.repairs import exchange
from app.repairs.models import ExchangeAuthorisation, Repair, RepairStatus, UnitReturn
from app.roles import Role
from tests import database
from tests.conftest import make_test_config
from tests.factories import make_centre, make_user
from tests.repairs.bench import TV, load_bench, open_repair, rule, walk_to_fix

PARALLEL = 20


@pytest.fixture
def real_app(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    """An app whose requests each take their own connection and commit for real."""
    if not database_url.startswith("postgresql"):
        pytest.skip("parallel writers race on PostgreSQL (run with --postgres)")
    racing = make_engine(database_url, pool_size=PARALLEL + 2, max_overflow=0, pool_timeout=60)
    app = create_app(make_test_config(database_url, tmp_path))
    app.extensions["session_factory"] = sessionmaker(racing, expire_on_commit=False)
    yield app
    racing.dispose()
    app.extensions["engine"].dispose()
    database.delete_all_rows(engine)


@pytest.fixture
def bench(real_app: Flask, engine: Engine, tmp_path: Path) -> dict[str, Any]:
    """Committed: the catalogue and trees, a centre's technician and manager, two approvers,
    each with an API token, and a repair walked to its fix (111.50 against a value of 100)."""
    with Session(engine) as session:
        load_bench(session, tmp_path / "r1")
        centre = make_centre(session)
        tech = make_user(session, role=Role.TECHNICIAN, centre=centre)
        manager = make_user(session, role=Role.CENTRE_MANAGER, centre=centre)
        approvers = [make_user(session, role=Role.EXCHANGE_APPROVER) for _ in range(2)]
        repair = open_repair(session, tech)
        walk_to_fix(session, repair, tech)
        facts = {
            "engine": engine,
            "repair": repair.reference,
            "tech": accounts.issue_api_token(session, tech),
            "manager": accounts.issue_api_token(session, manager),
            "approvers": [accounts.issue_api_token(session, a) for a in approvers],
            "tech_id": tech.id,
        }
        session.commit()
    return facts


def race(
    app: Flask, tokens: list[str], send: Callable[[int, Any, dict[str, str]], TestResponse]
) -> list[TestResponse]:
    """One client per token; all send at the same moment."""
    clients = [app.test_client() for _ in tokens]
    start = threading.Barrier(len(tokens))
    responses: list[TestResponse | None] = [None] * len(tokens)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            headers = {"Authorization": f"Bearer {tokens[n]}"}
            start.wait(30)
            responses[n] = send(n, clients[n], headers)
        except BaseException as exc:  # reported by the test, not lost in its thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    return [r for r in responses if r is not None]


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(table).where(*where)) or 0


def test_a_double_clicked_exchange_makes_one_order_and_one_rma(
    real_app: Flask, bench: dict[str, Any]
) -> None:
    engine: Engine = bench["engine"]
    with Session(engine) as session:
        rule(session, product_line="TV", value=Decimal("100.00"))
        session.commit()
    url = f"/api/v1/repairs/{bench['repair']}/exchange"
    tokens = [bench["tech"] if n % 2 else bench["manager"] for n in range(PARALLEL)]
    answers = race(real_app, tokens, lambda n, c, h: c.post(url, json={}, headers=h))
    statuses = Counter(r.status_code for r in answers)
    numbers = {r.get_json()["authorisation"] for r in answers}
    rmas = {r.get_json()["rma"]["rma"] for r in answers}
    orders = _count(engine, Order)
    returns = _count(engine, UnitReturn)
    print(
        f"\n{PARALLEL} concurrent exchange requests: {orders} order, {returns} RMA "
        f"(answers {dict(statuses)})"
    )
    assert statuses == {201: 1, 200: PARALLEL - 1}
    assert len(numbers) == 1
    assert len(rmas) == 1
    assert (_count(engine, ExchangeAuthorisation), orders, returns) == (1, 1, 1)
    with Session(engine) as session:
        repair = session.scalars(select(Repair)).one()
        assert repair.status == RepairStatus.EXCHANGED


def test_two_approvers_deciding_at_once_make_one_decision_and_one_order(
    real_app: Flask, bench: dict[str, Any]
) -> None:
    engine: Engine = bench["engine"]
    trials, approved_orders = 10, 0
    outcomes: Counter[str] = Counter()
    with Session(engine) as session:
        rule(session, product_line="TV", value=Decimal("100.00"), auto_approve=False)
        session.commit()
    # One approves while the other refuses, both having read it as pending.
    bodies = [{"approve": True}, {"approve": False, "note": "Repair it."}]
    for trial in range(trials):
        with Session(engine) as session:
            tech = session.get_one(User, bench["tech_id"])
            repair = open_repair(session, tech, f"50{trial:05d}")
            walk_to_fix(session, repair, tech)
            authorisation, _ = exchange.request_exchange(session, repair, by=tech)
            assert authorisation.status == "pending"
            number = authorisation.number
            session.commit()
        url = f"/api/v1/exchanges/{number}/decision"
        answers = race(
            real_app,
            bench["approvers"],
            lambda n, c, h, url=url: c.post(url, json=bodies[n], headers=h),
        )
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200, 409], [r.get_json() for r in answers]
        winner = next(r.get_json() for r in answers if r.status_code == 200)
        outcomes[winner["status"]] += 1
        approved_orders += winner["status"] == "approved"
        with Session(engine) as session:
            decided = session.scalars(
                select(ExchangeAuthorisation).where(ExchangeAuthorisation.number == number)
            ).one()
            assert decided.status == winner["status"]
    orders = _count(engine, Order)
    print(
        f"\n{trials} races of two approvers on one pending exchange: {dict(outcomes)}, "
        f"{orders} orders for {approved_orders} approvals, every loser answered 409"
    )
    assert orders == approved_orders
    assert _count(engine, UnitReturn) == approved_orders


def test_concurrent_status_changes_leave_one_winner(real_app: Flask, bench: dict[str, Any]) -> None:
    engine: Engine = bench["engine"]
    url = f"/api/v1/repairs/{bench['repair']}/status"
    targets = ["waiting_parts", "waiting_support", "repaired", "returned_unrepaired"]
    tokens = [bench["tech"] if n % 2 else bench["manager"] for n in range(len(targets) * 2)]
    answers = race(
        real_app,
        tokens,
        lambda n, c, h: c.post(
            url, json={"status": targets[n % len(targets)], "seen": "open"}, headers=h
        ),
    )
    statuses = Counter(r.status_code for r in answers)
    print(f"\n{len(tokens)} concurrent status changes from 'open': {dict(statuses)}")
    assert statuses == {200: 1, 409: len(tokens) - 1}
    winner = next(r.get_json() for r in answers if r.status_code == 200)
    with Session(engine) as session:
        repair = session.scalars(select(Repair)).one()
        assert repair.status == winner["status"]
        status_lines = [e for e in repair.events if e.kind == "status"]
        assert len(status_lines) == 1


def test_a_unit_opened_at_once_by_many_is_one_repair(
    real_app: Flask, bench: dict[str, Any]
) -> None:
    engine: Engine = bench["engine"]
    body = {"model_number": TV, "serial": "4077777", "complaint": "No sound"}
    tokens = [bench["tech"] if n % 2 else bench["manager"] for n in range(PARALLEL)]
    answers = race(
        real_app, tokens, lambda n, c, h: c.post("/api/v1/repairs", json=body, headers=h)
    )
    statuses = Counter(r.status_code for r in answers)
    print(f"\n{PARALLEL} concurrent opens of one unit: {dict(statuses)}")
    assert statuses == {201: 1, 409: PARALLEL - 1}
    reference = next(r.get_json()["reference"] for r in answers if r.status_code == 201)
    assert {r.get_json()["repair"]["reference"] for r in answers if r.status_code == 409} == {
        reference
    }
    assert _count(engine, Repair, Repair.serial == "4077777") == 1


def test_overlapping_charge_runs_charge_each_late_return_once(
    real_app: Flask, bench: dict[str, Any]
) -> None:
    """Two cron runs at once (a slow run and the next): each late unit is charged by one."""
    engine: Engine = bench["engine"]
    with Session(engine) as session:
        rule(session, product_line="TV", value=Decimal("50.00"), core_charge=Decimal("35.00"))
        tech = session.get_one(User, bench["tech_id"])
        for n in range(5):
            repair = open_repair(session, tech, f"60{n:05d}")
            walk_to_fix(session, repair, tech)
            exchange.request_exchange(session, repair, by=tech)
        session.commit()
    late = utcnow().date() + timedelta(days=30)
    runs = 4
    start = threading.Barrier(runs)
    charged: list[int] = []

    def run() -> None:
        factory = real_app.extensions["session_factory"]
        with factory.begin() as session:
            start.wait(30)
            charged.extend(r.id for r in exchange.charge_overdue(session, today=late))

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    print(f"\n{runs} overlapping charge runs over 5 late returns: {len(charged)} charges")
    assert sorted(charged) == sorted(set(charged))
    assert len(charged) == 5
    assert _count(engine, UnitReturn, UnitReturn.charged_at.is_not(None)) == 5
