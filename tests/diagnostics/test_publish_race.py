"""Two trees claiming the same code for the same models, published at the same moment on their
own connections: exactly one is published, the other is refused with the clash message."""

from __future__ import annotations

import copy
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from diagnostics import authoring, services, trees
from diagnostics.errors import InvalidTree
from diagnostics.models import PUBLISHED, TreeCode, TreeRevision
from parts_catalog.importer import import_release
from tests import database
from tests.diagnostics.test_trees import TREE
from tests.parts_catalog.releases import base_release

ROUNDS = 8


@pytest.fixture
def committed(engine: Engine, tmp_path: Path) -> Iterator[None]:
    """A catalogue committed for real: the threads use connections of their own."""
    with Session(engine) as session:
        import_release(session, path=base_release(tmp_path / "r"), label="r")
        session.commit()
    yield
    database.delete_all_rows(engine)


def clashing(tree_id: str, code: str) -> dict[str, Any]:
    document = copy.deepcopy(TREE)
    document.update(id=tree_id, title=f"Tree {tree_id}", codes=[code], chassis=[])
    return document


def _slow_commit(session: Session) -> None:
    # Widens the window between the clash check and the commit, where a check made without
    # serialisation would let both through.
    time.sleep(0.05)


def _with_retries(engine: Engine, publish: Callable[[Session], None]) -> str:
    """Publish on a connection of its own; "published" or the refusal's problems."""
    for attempt in range(50):
        with Session(engine) as session:
            event.listen(session, "before_commit", _slow_commit)
            try:
                publish(session)
                session.commit()
                return "published"
            except InvalidTree as exc:
                return "; ".join(str(p) for p in exc.problems)
            except OperationalError as exc:  # SQLite: "database is locked"; its writers queue
                if "locked" not in str(exc) or attempt == 49:
                    raise
            time.sleep(random.uniform(0.01, 0.1))
    raise AssertionError("unreachable")


def _run(
    engine: Engine,
    start: threading.Barrier,
    name: str,
    publish: Callable[[Session], None],
    results: dict[str, str],
    errors: list[BaseException],
) -> None:
    try:
        start.wait(10)
        results[name] = _with_retries(engine, publish)
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.usefixtures("committed")
def test_two_clashing_trees_published_at_once_one_wins(engine: Engine) -> None:
    outcomes: list[list[str]] = []
    for number in range(1, ROUNDS + 1):
        code = f"blink:{number}"
        first, second = f"race-a-{number}", f"race-b-{number}"
        with Session(engine) as session:  # one of them goes through the engineers' draft
            services.import_tree(session, trees.dump(clashing(second, code)), by="eng")
            session.commit()
        start = threading.Barrier(2)
        results: dict[str, str] = {}
        errors: list[BaseException] = []

        def by_import(session: Session, tree_id: str = first, code: str = code) -> None:
            text = trees.dump(clashing(tree_id, code))
            services.import_tree(session, text, by="eng", publish=True)

        def by_draft(session: Session, tree_id: str = second) -> None:
            authoring.publish(session, tree_id, by="eng")

        threads = [
            threading.Thread(target=_run, args=(engine, start, first, by_import, results, errors)),
            threading.Thread(target=_run, args=(engine, start, second, by_draft, results, errors)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        outcomes.append([results[first], results[second]])
        with Session(engine) as session:
            holders = session.scalars(
                select(TreeRevision.tree_id)
                .join(TreeCode)
                .where(TreeRevision.status == PUBLISHED, TreeCode.code == code)
            ).all()
        assert len(holders) == 1, (code, holders, results)
        loser = second if holders[0] == first else first
        assert results[holders[0]] == "published"
        assert f"{code}: already answered by the published tree “{holders[0]}”" in results[loser]
    print(
        f"{ROUNDS} rounds of two clashing trees published at once on {engine.dialect.name}: "
        f"{sum(o.count('published') == 1 for o in outcomes)} with exactly one published"
    )
