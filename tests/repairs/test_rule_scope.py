"""One exchange rule and one warranty term per scope (a product line in any case, or a model
glob), decided by the database: two keepers saving the same scope at once, on their own
connections, committing for real (PostgreSQL; SQLite answers the second "database is locked"
until the first commits, and the test retries as a person would)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.exceptions import Conflict, Invalid
from app.repairs import programme
from app.repairs.models import ExchangeRule
from app.roles import Role
from app.warranty import keeping
from app.warranty.models import WarrantyTerm
from tests import database
from tests.factories import make_user


@pytest.fixture
def keepers(engine: Engine) -> Iterator[tuple[int, int]]:
    with Session(engine) as session:
        ids = tuple(make_user(session, role=role).id for role in (Role.ENGINEER, Role.ADMIN))
        session.commit()
    yield ids[0], ids[1]
    database.delete_all_rows(engine)


def _both_at_once(
    engine: Engine, keepers: tuple[int, int], act: Callable[[Session, User, int], None]
) -> list[str]:
    """``act`` by each keeper from its own thread, let go together; what each was told."""
    ready = threading.Barrier(2)
    answers: list[str] = []

    def run(n: int) -> None:
        for attempt in range(200):
            with Session(engine) as session:
                keeper = session.get(User, keepers[n])
                assert keeper is not None
                if attempt == 0:
                    ready.wait(10)
                try:
                    act(session, keeper, n)
                    session.commit()
                    answers.append("saved")
                    return
                except (Conflict, Invalid):  # the constraint, or (retried) the look-up
                    answers.append("refused")
                    return
                except Exception as exc:
                    session.rollback()
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.01)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sorted(answers)


def test_two_keepers_adding_one_line_at_once_make_one_rule(
    engine: Engine, keepers: tuple[int, int]
) -> None:
    lines = ("TV", "tv")  # one line, in any case

    def add(session: Session, keeper: User, n: int) -> None:
        asked = programme.RuleAsked(product_line=lines[n], value=Decimal(100 + n))
        programme.add_rule(session, asked, by=keeper)

    answers = _both_at_once(engine, keepers, add)
    with Session(engine) as session:
        rules = session.scalars(select(ExchangeRule)).all()
    print(f"\ntwo keepers add the TV rule at once ({engine.dialect.name}): {answers}")
    assert answers == ["refused", "saved"]
    assert [rule.scope for rule in rules] == ["line:tv"]


def test_two_keepers_setting_one_term_at_once_keep_one(
    engine: Engine, keepers: tuple[int, int]
) -> None:
    def set_term(session: Session, keeper: User, n: int) -> None:
        keeping.set_term(
            session,
            by=keeper,
            product_line=None,
            model_pattern="kdl-55*",
            parts_months=12 + n,
            labour_months=6,
        )

    answers = _both_at_once(engine, keepers, set_term)
    with Session(engine) as session:
        terms = session.scalars(select(WarrantyTerm)).all()
    print(f"\ntwo keepers set the KDL-55* term at once ({engine.dialect.name}): {answers}")
    assert answers == ["saved", "saved"]  # the second changes the term the first made
    assert [(term.scope, term.model_pattern) for term in terms] == [("model:KDL-55*", "KDL-55*")]
    assert terms[0].parts_months in (12, 13)


def test_a_rule_moved_onto_another_rules_scope_is_refused(session: Session) -> None:
    keeper = make_user(session, role=Role.ENGINEER)
    programme.add_rule(session, programme.RuleAsked(product_line="TV"), by=keeper)
    audio = programme.add_rule(session, programme.RuleAsked(product_line="Audio"), by=keeper)
    with pytest.raises(Invalid) as refused:
        programme.edit_rule(session, audio, programme.RuleAsked(product_line="tv"), by=keeper)
    assert refused.value.errors == {
        "product_line": "There is a rule for tv already: edit that one."
    }


def test_a_term_keeps_its_scope_when_its_line_is_typed_in_another_case(session: Session) -> None:
    keeper = make_user(session, role=Role.ADMIN)
    first = keeping.set_term(
        session, by=keeper, product_line="TV", model_pattern=None, parts_months=24, labour_months=12
    )
    again = keeping.set_term(
        session, by=keeper, product_line="tv", model_pattern=None, parts_months=36, labour_months=12
    )
    assert again.id == first.id
    assert (again.parts_months, again.scope) == (36, "line:tv")
    assert len(keeping.terms(session)) == 1
