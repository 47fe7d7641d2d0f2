"""The trees API for engineers: versions as ETags, stale saves refused, drafts that say why
they cannot be published."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.roles import Role
from diagnostics import services, trees
from parts_catalog.importer import import_release
from tests.conftest import AuthActions
from tests.diagnostics.test_trees import TREE
from tests.parts_catalog.releases import base_release

URL = "/api/v1/diagnostics/trees/tv-red-led-blinks"


@pytest.fixture
def published(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    services.import_tree(session, trees.dump(TREE), by="eng@example.com", publish=True)
    session.commit()


def engineer(client: FlaskClient, auth: AuthActions, role: Role = Role.ENGINEER) -> None:
    auth.login(role)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()


@pytest.mark.usefixtures("published")
def test_drafts_are_saved_against_their_version(client: FlaskClient, auth: AuthActions) -> None:
    engineer(client, auth)
    got = client.get(URL)
    assert got.get_json() == TREE
    assert got.headers["ETag"] == '"1.1"'
    edited = copy.deepcopy(TREE)
    edited["title"] = "Red LED blinks (revised)"
    saved = client.put(f"{URL}/draft", json=edited, headers={"If-Match": got.headers["ETag"]})
    assert saved.status_code == 200
    assert saved.get_json() == {
        "tree": "tv-red-led-blinks",
        "revision": 2,
        "version": "2.1",
        "valid": True,
        "problems": [],
    }
    assert saved.headers["ETag"] == '"2.1"'
    assert client.get(f"{URL}?draft=1").get_json()["title"] == "Red LED blinks (revised)"
    assert client.get(URL).get_json()["title"] == TREE["title"]  # published unchanged
    # A second engineer saving on the version both started from is refused; both are kept.
    other = copy.deepcopy(TREE)
    other["title"] = "Somebody else's title"
    stale = client.put(f"{URL}/draft", json=other, headers={"If-Match": '"1.1"'})
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["current"]["version"] == "2.1"
    assert body["current"]["document"]["title"] == "Red LED blinks (revised)"
    assert body["yours"]["title"] == "Somebody else's title"
    assert client.put(f"{URL}/draft", json=other).status_code == 428
    again = client.put(f"{URL}/draft", json=other, headers={"If-Match": '"2.1"'})
    assert again.headers["ETag"] == '"2.2"'
    published = client.post(f"{URL}/publish")
    assert published.status_code == 200
    assert client.get(URL).get_json()["title"] == "Somebody else's title"
    assert client.get(f"{URL}?revision=1").get_json()["title"] == TREE["title"]
    listed = client.get("/api/v1/diagnostics/trees").get_json()["trees"]
    assert [(t["id"], t["published_revision"], t["draft_revision"]) for t in listed] == [
        ("tv-red-led-blinks", 2, None)
    ]


@pytest.mark.usefixtures("published")
def test_invalid_drafts_are_saved_but_not_published(client: FlaskClient, auth: AuthActions) -> None:
    engineer(client, auth)
    broken = copy.deepcopy(TREE)
    broken["nodes"]["backlight"]["next"] = "nowhere"
    saved = client.put(f"{URL}/draft", json=broken, headers={"If-Match": '"1.1"'})
    assert saved.status_code == 200
    assert saved.get_json()["valid"] is False
    assert "nodes.backlight: next “nowhere” is not a node" in saved.get_json()["problems"]
    refused = client.post(f"{URL}/publish")
    assert refused.status_code == 422
    assert "nodes.backlight: next “nowhere” is not a node" in refused.get_json()["errors"]
    malformed = copy.deepcopy(TREE)
    malformed["nodes"]["psu"]["kind"] = "gauge"
    rejected = client.put(f"{URL}/draft", json=malformed, headers={"If-Match": '"2.1"'})
    assert rejected.status_code == 422
    assert any("nodes.psu.kind" in e for e in rejected.get_json()["errors"])
    assert client.get(f"{URL}?draft=1").get_json()["nodes"]["psu"]["kind"] == "measure"


def test_a_new_tree_needs_no_version_and_only_authors_write(
    client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    session.commit()
    engineer(client, auth, Role.TECHNICIAN)
    assert client.put(f"{URL}/draft", json=TREE).status_code == 403
    assert client.post(f"{URL}/publish").status_code == 403
    auth.logout()
    engineer(client, auth, Role.ADMIN)
    created = client.put(f"{URL}/draft", json=TREE)
    assert created.status_code == 200
    assert created.headers["ETag"] == '"1.1"'
    assert client.get(URL + "?draft=1").headers["ETag"] == '"1.1"'
    assert client.post(f"{URL}/publish").status_code == 200
    assert client.get(URL).status_code == 200
    # Published from the web, found by symptom at once (the index followed the commit).
    found = client.get("/api/v1/search?q=standby+blinking&kind=trees").get_json()["results"]
    assert [r["key"] for r in found] == ["tv-red-led-blinks"]


@pytest.mark.usefixtures("published")
def test_what_the_review_found_stays_fixed(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    engineer(client, auth)
    nan = client.put(
        f"{URL}/draft",
        data='{"id": "tv-red-led-blinks", "title": NaN}',
        headers={"If-Match": '"1.1"', "Content-Type": "application/json"},
    )
    assert nan.status_code == 422
    slash = copy.deepcopy(TREE)
    slash["nodes"]["a/b"] = {"kind": "escalate", "text": "x"}
    assert client.put(f"{URL}/draft", json=slash, headers={"If-Match": '"1.1"'}).status_code == 422
    assert client.put(f"{URL}/draft", json=TREE, headers={"If-Match": 'W/"1.1"'}).status_code == 409
    listed = client.put(f"{URL}/draft", json=TREE, headers={"If-Match": '"9.9", "1.1"'})
    assert listed.status_code == 200
    stale = client.post(f"{URL}/publish", headers={"If-Match": '"1.1"'})
    assert stale.status_code == 409  # the draft is 2.1 now: what was reviewed is not what is there
    # An import of the same tree replaces the draft rather than adding a second one.
    services.import_tree(session, trees.dump(TREE), by="cli")
    session.commit()
    from diagnostics import authoring

    assert authoring.draft_of(session, "tv-red-led-blinks").version == 2  # type: ignore[union-attr]
    auth.logout()
    engineer(client, auth, Role.TECHNICIAN)
    assert client.get(f"{URL}?draft=1").status_code == 403
    assert client.get(URL).status_code == 200


def test_anchors_and_aliases_are_refused() -> None:
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    document, problems = trees.load_text(bomb)
    assert document is None
    assert "anchors and aliases" in str(problems[0])
