"""Tree documents too big are refused on every way in (the CLI's import and validate, the
editor's upload, the API's draft), with the limits named and nothing stored."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.roles import Role
from diagnostics import services, trees
from diagnostics.models import TreeRevision
from parts_catalog.importer import import_release
from tests.conftest import AuthActions
from tests.diagnostics.test_tree_limits import five_megabytes, many_nodes
from tests.diagnostics.test_trees import TREE
from tests.parts_catalog.releases import base_release

URL = "/api/v1/diagnostics/trees/tv-red-led-blinks"
EDITOR = "/authoring/trees/tv-red-led-blinks"
BYTES = "a tree may have at most 1,048,576 bytes (TREE_MAX_BYTES)"
NODES = "a tree may have at most 500 (TREE_MAX_NODES)"


@pytest.fixture
def published(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    services.import_tree(session, trees.dump(TREE), by="eng@example.com", publish=True)
    session.commit()


def revisions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(TreeRevision)) or 0


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_the_commands_refuse_a_tree_too_big(
    runner: FlaskCliRunner, session: Session, tmp_path: Path, fmt: str
) -> None:
    before = revisions(session)
    for text, expected in (
        (five_megabytes(fmt), BYTES),
        (trees.dump(many_nodes(501), fmt=fmt), NODES),
    ):
        path = tmp_path / f"tree.{fmt}"
        path.write_text(text, encoding="utf-8")
        for command in (["import", "--publish"], ["validate"]):
            result = runner.invoke(args=["diagnostics", command[0], str(path), *command[1:]])
            assert result.exit_code == 1
            assert expected in result.output, result.output
    assert revisions(session) == before


@pytest.mark.usefixtures("published")
def test_the_editor_refuses_an_upload_too_big(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    token = auth.csrf()
    before = revisions(session)
    for text, expected in ((five_megabytes("yaml"), BYTES), (trees.dump(many_nodes(501)), NODES)):
        # Encoded here, in memory: the test client would spool a body this big to a temporary
        # file that it leaves open.
        boundary, body = encode_multipart(
            {
                "version": "1.1",
                "csrf_token": token,
                "file": FileStorage(io.BytesIO(text.encode()), "tree.yaml"),
            }
        )
        refused = client.post(
            f"{EDITOR}/upload",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        assert refused.status_code == 422
        assert expected in refused.get_data(as_text=True)
    assert revisions(session) == before


@pytest.mark.usefixtures("published")
def test_the_api_refuses_a_draft_too_big(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    before = revisions(session)
    big = client.put(
        f"{URL}/draft",
        data=five_megabytes("json"),
        content_type="application/json",
        headers={"If-Match": '"1.1"'},
    )
    assert big.status_code == 413
    assert BYTES in big.get_json()["message"]
    many = client.put(
        f"{URL}/draft",
        data=json.dumps(many_nodes(501)),
        content_type="application/json",
        headers={"If-Match": '"1.1"'},
    )
    assert many.status_code == 422
    assert any(NODES in e for e in many.get_json()["errors"])
    assert revisions(session) == before
