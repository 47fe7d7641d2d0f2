"""A tree document may spell half of a UTF-16 pair ("\\ud800") in YAML or JSON; it is refused
with the place named, on every way in, before anything is stored (it would break the walk page
of a published tree for good)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from app.roles import Role
from diagnostics import trees
from diagnostics.models import TreeRevision
from tests.conftest import AuthActions
from tests.diagnostics.test_trees import TREE
from tests.web.test_authoring_limits import published  # noqa: F401  (a fixture)

# The YAML and JSON escapes of a lone high surrogate in one node's text, as a file can carry
# them (YAML reads escapes in double-quoted text only).
SPELLED = {
    "yaml": trees.dump(TREE).replace("text: Check CN7001", 'text: "Check CN7001 \\ud800"', 1),
    "json": trees.dump(TREE, fmt="json").replace('"Check CN7001"', '"Check CN7001 \\ud800"', 1),
}
assert all("\\ud800" in text for text in SPELLED.values())


def revisions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(TreeRevision)) or 0


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_lone_surrogate_is_a_problem_with_its_place(fmt: str) -> None:
    document, problems = trees.load_text(SPELLED[fmt])
    assert document is None
    [problem] = problems
    assert problem.where == "nodes.backlight.text"
    assert "surrogate" in problem.message


def test_a_document_handed_over_whole_is_checked_too() -> None:
    document = json.loads(trees.dump(TREE, fmt="json"))
    document["symptoms"] = ["no picture", "blinks \udc80"]
    tree, problems = trees.parse(document)
    assert tree is None
    assert [p.where for p in problems] == ["symptoms[1]"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_the_command_refuses_it_and_stores_nothing(
    runner: FlaskCliRunner, session: Session, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"tree.{fmt}"
    path.write_text(SPELLED[fmt], encoding="utf-8")
    before = revisions(session)
    result = runner.invoke(args=["diagnostics", "import", str(path), "--publish"])
    assert result.exit_code == 1
    assert "surrogate" in result.output
    assert revisions(session) == before


@pytest.mark.usefixtures("published")
def test_the_editor_refuses_an_upload_with_one(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    before = revisions(session)
    refused = client.post(
        "/authoring/trees/tv-red-led-blinks/upload",
        data={
            "csrf_token": auth.csrf(),
            "file": FileStorage(io.BytesIO(SPELLED["yaml"].encode()), "tree.yaml"),
        },
    )
    assert refused.status_code == 422
    assert "surrogate" in refused.get_data(as_text=True)
    assert revisions(session) == before
