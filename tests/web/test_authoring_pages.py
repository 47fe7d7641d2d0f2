"""Authoring pages: try-it, diff, upload and download, retire, and the figures from walks."""

from __future__ import annotations

import copy
import io
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.roles import Role
from diagnostics import authoring, services, trees
from diagnostics.errors import NoTreeFound
from parts_catalog.importer import import_release
from parts_catalog.sqltypes import utcnow
from tests.conftest import AuthActions
from tests.diagnostics.test_trees import TREE
from tests.parts_catalog.releases import base_release

EDITOR = "/authoring/trees/tv-red-led-blinks"


@pytest.fixture
def published(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    services.import_tree(session, trees.dump(TREE), by="eng@example.com", publish=True)
    session.commit()


@pytest.mark.usefixtures("published")
def test_try_diff_download_upload_retire(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    token = auth.csrf()
    tried = client.get(f"{EDITOR}/try?a=2&a=10.9").get_data(as_text=True)
    assert "Replace the power board" in tried
    assert "10.9 V" in tried
    bad_try = client.get(f"{EDITOR}/try?a=2&a=lots").get_data(as_text=True)
    assert "“lots” is not a number in V" in bad_try
    assert client.get(f"{EDITOR}/download").get_data(as_text=True) == trees.dump(TREE)
    edited = copy.deepcopy(TREE)
    edited["title"] = "Blinks, revised"
    del edited["nodes"]["escalate"]
    uploaded = client.post(
        f"{EDITOR}/upload",
        data={
            "version": "1.1",
            "csrf_token": token,
            "file": (io.BytesIO(trees.dump(edited).encode()), "tree.yaml"),
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    page = client.get(EDITOR).get_data(as_text=True)
    assert "nodes.psu: next “escalate” is not a node" in page  # the same report as the CLI
    diff = client.get(f"{EDITOR}/diff").get_data(as_text=True)
    assert "title: Red standby LED blinks, no picture → Blinks, revised" in diff
    assert "node escalate: removed" in diff
    broken = client.post(
        f"{EDITOR}/upload",
        data={
            "version": "2.1",
            "csrf_token": token,
            "file": (io.BytesIO(b"id: x\ntitle: a: b\n"), "broken.yaml"),
        },
        content_type="multipart/form-data",
    )
    assert broken.status_code == 422
    assert "broken.yaml: line 2, column 9" in broken.get_data(as_text=True)
    refused = client.post(f"{EDITOR}/publish", data={"csrf_token": token})
    assert refused.status_code == 302
    assert authoring.draft_of(session, "tv-red-led-blinks") is not None
    client.post(f"{EDITOR}/retire", data={"csrf_token": token})
    with pytest.raises(NoTreeFound):
        services.find_by_code(session, "blink:2", "KDL-55W800C")
    changes = [c.action for c in authoring.changes(session, "tv-red-led-blinks")]
    assert changes == ["retired", "uploaded", "published"]


@pytest.mark.usefixtures("published")
def test_figures_say_which_tree_to_improve(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    revision = services.get_revision(session, "tv-red-led-blinks")
    for value, fixed in ((10.9, False), (10.0, True), (12.5, None)):
        walk = services.start(session, revision, by="tech")
        services.answer(session, walk, option="2")
        services.answer(session, walk, value=value)
        if fixed is not None:
            services.give_feedback(session, walk, fixed=fixed, note="")
    left = services.start(session, revision, by="tech")
    services.answer(session, left, option="6")
    left.updated_at = utcnow() - timedelta(days=3)
    session.commit()
    figures = authoring.figures(session, "tv-red-led-blinks")
    assert figures.sessions == 4
    assert dict(figures.ended) == {"replace-psu": 2, "escalate": 1}
    assert dict(figures.not_fixed) == {"replace-psu": 1}
    assert dict(figures.abandoned) == {"backlight": 1}
    auth.login(Role.ENGINEER)
    listing = client.get("/authoring").get_data(as_text=True)
    assert "replace-psu 1" in listing
    assert "backlight 1" in listing


@pytest.mark.usefixtures("published")
def test_a_conflict_keeps_the_form_and_a_second_submit_saves(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(Role.ENGINEER)
    token = auth.csrf()
    details = {
        "title": "First",
        "start": "count",
        "models": "KDL-*",
        "codes": "blink:2, blink:6",
        "csrf_token": token,
        "version": "1.1",
    }
    assert client.post(f"{EDITOR}/details", data=details).status_code == 302
    conflict = client.post(f"{EDITOR}/details", data={**details, "title": "Second"})
    assert conflict.status_code == 409
    html = conflict.get_data(as_text=True)
    assert 'value="Second"' in html
    assert "title: First" in html  # their version, beside
    assert 'name="version" type="hidden" value="2.1"' in html
    again = client.post(f"{EDITOR}/details", data={**details, "title": "Second", "version": "2.1"})
    assert again.status_code == 302
    duplicate = client.post(
        f"{EDITOR}/nodes",
        data={
            "mode": "add",
            "node_id": "count",
            "kind": "escalate",
            "text": "x",
            "version": "2.2",
            "csrf_token": token,
        },
    )
    assert duplicate.status_code == 422
    assert "A node with this id exists" in duplicate.get_data(as_text=True)


@pytest.mark.usefixtures("published")
def test_the_editor_sets_a_measurements_plausible_range(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    token = auth.csrf()
    shown = client.get(f"{EDITOR}?node=psu").get_data(as_text=True)
    assert 'name="plausible"' in shown
    assert 'value="0 to 30"' in shown
    node = {
        "mode": "edit",
        "node_id": "psu",
        "kind": "measure",
        "text": "Measure 12 V at CN6101 pin 1",
        "unit": "V",
        "ranges": "below 11.4 -> replace-psu\nfrom 11.4 -> escalate",
        "version": "1.1",
        "csrf_token": token,
    }
    wrong = client.post(f"{EDITOR}/nodes", data={**node, "plausible": "zero to thirty"})
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert "write the plausible range as  0 to 30" in html
    assert 'value="zero to thirty"' in html  # what was typed
    assert authoring.draft_of(session, "tv-red-led-blinks") is None  # nothing saved
    saved = client.post(f"{EDITOR}/nodes", data={**node, "plausible": "10,5 to 14"})
    assert saved.status_code == 302
    draft = authoring.draft_of(session, "tv-red-led-blinks")
    assert draft is not None
    assert draft.document["nodes"]["psu"]["plausible"] == [10.5, 14]
    page = client.get(f"{EDITOR}?node=psu").get_data(as_text=True)
    assert 'value="10.5 to 14"' in page
    # The draft is invalid now (11.4 lies inside, but a bound outside is named) and says why.
    outside = client.post(
        f"{EDITOR}/nodes", data={**node, "plausible": "12 to 14", "version": "2.1"}
    )
    assert outside.status_code == 302
    report = client.get(EDITOR).get_data(as_text=True)
    assert "nodes.psu.ranges[0].below: 11.4 lies outside the plausible range 12 to 14 V" in report
