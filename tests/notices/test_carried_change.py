"""Issue 18: a bulletin carries its change (supersessions for a delta release, a draft tree
revision) and publishes it together with the notice, or neither."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import services as accounts
from app.exceptions import Invalid
from app.extensions import current_settings
from app.notices import services
from app.notices.changes import CarriedChange, read_lines
from app.notices.models import Notice, NoticeStatus
from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics.models import PUBLISHED
from parts_catalog import services as catalogue
from parts_catalog.importer import import_release
from parts_catalog.models import Release
from tests.conftest import AuthActions
from tests.factories import make_user
from tests.notices.test_notices import WRITTEN, asked
from tests.notices.test_pages import TYPED
from tests.parts_catalog.releases import base_release

TREE = (
    "id: door\ntitle: Battery door will not close\nproduct_line: Camera\nmodels: ['DSC-*']\n"
    "start: fix\nnodes:\n  fix: {kind: fix, text: Fit the new door, "
    "parts: [{part: '4-234-704-01', qty: 1}], labour_minutes: 5}\n"
)
ROW = {
    "old_part_number": "4-234-704-01",
    "new_part_number": "4-234-704-11",
    "interchangeability": "two_way",
    "note": "Stronger hinge",
}


@pytest.fixture
def catalogue_and_tree(session: Session, tmp_path: Path) -> int:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    draft = diagnostics.import_tree(session, TREE, by="e@example.com")
    session.commit()
    return draft.number


def _publish(session: Session, app: Flask, carries: CarriedChange) -> Any:
    author = make_user(session, role=Role.ENGINEER)
    notice = services.create(
        session,
        by=author,
        asked=asked(safety=False, targets={"part": ["4-234-704-01"]}, carries=carries),
    )
    services.review(session, notice, by=make_user(session, role=Role.ADMIN))
    with app.app_context():
        services.publish(session, notice, by=author, mailer=current_settings().mail)
    return notice


def test_lines_are_read_as_supersession_rows() -> None:
    rows, problems = read_lines(
        '4-234-704-01, 4-234-704-11, 1, two_way, , "Stronger, hinge"\n\nX\n'
    )
    assert rows == [
        {
            "old_part_number": "4-234-704-01",
            "new_part_number": "4-234-704-11",
            "quantity": "1",
            "interchangeability": "two_way",
            "note": "Stronger, hinge",
        }
    ]
    assert problems == ["line 3: give the old and the new part number"]


def test_a_bulletin_publishes_its_supersession_and_tree_with_it(
    session: Session, app: Flask, catalogue_and_tree: int
) -> None:
    before = catalogue.resolve_number(
        session, "4-234-704-01", release=catalogue.latest_release(session)
    )
    assert before.outcome == "current"
    notice = _publish(
        session,
        app,
        CarriedChange(tree_id="door", tree_revision=catalogue_and_tree, supersessions=(ROW,)),
    )
    assert notice.status == NoticeStatus.PUBLISHED
    assert notice.carried_release == notice.reference
    release = catalogue.latest_release(session)
    assert release is not None
    assert release.label == notice.reference
    after = catalogue.resolve_number(session, "4-234-704-01", release=release)
    assert after.outcome == "superseded"
    assert [r.part_number for r in after.result] == ["4-234-704-11"]
    assert diagnostics.get_revision(session, "door", catalogue_and_tree).status == PUBLISHED


def test_a_change_that_no_longer_applies_publishes_nothing(
    session: Session, app: Flask, catalogue_and_tree: int
) -> None:
    author = make_user(session, role=Role.ENGINEER)
    carries = CarriedChange(tree_id="door", tree_revision=catalogue_and_tree, supersessions=(ROW,))
    notice = services.create(session, by=author, asked=asked(safety=False, carries=carries))
    services.review(session, notice, by=make_user(session, role=Role.ADMIN))
    session.commit()
    diagnostics.publish(session, "door", catalogue_and_tree)  # published meanwhile, on its own
    session.commit()
    releases = session.scalar(select(func.count()).select_from(Release))
    # As a request would: the refusal rolls back everything the publication began.
    with app.app_context(), pytest.raises(Invalid) as refused, session.begin_nested():
        services.publish(session, notice, by=author, mailer=current_settings().mail)
    session.refresh(notice)
    assert "is published: a bulletin publishes a draft" in refused.value.errors["carries_tree"]
    assert notice.status == NoticeStatus.REVIEWED
    assert session.scalar(select(func.count()).select_from(Release)) == releases


@pytest.mark.usefixtures("catalogue_and_tree")
def test_a_bulletin_naming_an_unknown_part_is_refused_when_written(session: Session) -> None:
    author = make_user(session, role=Role.ENGINEER)
    bad = CarriedChange(
        supersessions=({"old_part_number": "4-234-704-01", "new_part_number": "9-999-999-99"},)
    )
    with pytest.raises(services.NoticeError) as refused:
        services.create(session, by=author, asked=asked(carries=bad))
    assert "9-999-999-99" in refused.value.errors["carries_supersessions"]


def test_the_api_takes_and_shows_the_change(
    client: FlaskClient, session: Session, catalogue_and_tree: int
) -> None:
    author = make_user(session, role=Role.ENGINEER)
    admin = make_user(session, role=Role.ADMIN)
    tokens = {u.id: accounts.issue_api_token(session, u) for u in (author, admin)}
    session.commit()

    def post(user_id: int, url: str, body: Any = None) -> Any:
        return client.post(
            url, json=body or {}, headers={"Authorization": f"Bearer {tokens[user_id]}"}
        )

    body = {
        **WRITTEN,
        "safety": False,
        "carries": {"tree": {"id": "door", "revision": catalogue_and_tree}, "supersessions": [ROW]},
    }
    made = post(author.id, "/api/v1/notices", body)
    assert made.status_code == 201, made.get_json()
    notice_id = made.get_json()["id"]
    assert made.get_json()["carries"]["supersessions"] == [ROW]
    post(admin.id, f"/api/v1/notices/{notice_id}/review")
    published = post(author.id, f"/api/v1/notices/{notice_id}/publish")
    assert published.status_code == 200, published.get_json()
    assert published.get_json()["carries"]["release"] == published.get_json()["reference"]


def test_the_form_carries_a_change_and_names_what_is_wrong_with_it(
    client: FlaskClient, auth: AuthActions, session: Session, catalogue_and_tree: int
) -> None:
    auth.login(Role.ENGINEER)
    typed = {**TYPED, "safety": ""}
    wrong = client.post(
        "/notices/new",
        data={
            "csrf_token": auth.csrf(),
            **typed,
            "carries_tree": "door",
            "carries_supersessions": "4-234-704-01, 9-999-999-99",
        },
    )
    assert wrong.status_code == 422
    page = wrong.get_data(as_text=True)
    assert "Give the tree slug and the draft&#39;s revision number" in page
    assert "9-999-999-99" in page
    assert "4-234-704-01, 9-999-999-99" in page  # kept as typed
    made = client.post(
        "/notices/new",
        data={
            "csrf_token": auth.csrf(),
            **typed,
            "carries_tree": f"door {catalogue_and_tree}",
            "carries_supersessions": "4-234-704-01, 4-234-704-11, 1, two_way",
        },
    )
    assert made.status_code == 302
    notice = session.scalars(select(Notice).order_by(Notice.id.desc())).first()
    assert notice is not None
    assert (notice.carries_tree_id, notice.carries_tree_revision) == ("door", catalogue_and_tree)
    assert notice.carries_supersessions == [
        {
            "old_part_number": "4-234-704-01",
            "new_part_number": "4-234-704-11",
            "quantity": "1",
            "interchangeability": "two_way",
        }
    ]
    shown = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "4-234-704-01 is replaced by 4-234-704-11 × 1 (two-way)" in shown
