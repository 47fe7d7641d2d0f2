"""The catalogue's pages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.roles import Role
from parts_catalog.importer import import_release
from parts_catalog.models import Erratum, Release
from tests.conftest import AuthActions
from tests.parts_catalog.releases import base_release, zip_release


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1", supersessions=[]), label="2026.1")
    import_release(session, path=base_release(tmp_path / "r2"), label="2026.2")
    session.commit()


@pytest.mark.usefixtures("catalogue")
def test_part_page_puts_the_orderable_answer_first(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    html = client.get("/catalog/parts/1-474-594-11").get_data(as_text=True)
    answer = html.index("What to order")
    assert html.index("Order <a", answer) < html.index("Fits these models")
    assert "1-474-594-12</a> × 1" in html
    # The heading names what to order beside the part's own status, as search results do.
    head = html[: html.index("What to order")]
    assert 'class="badge badge-superseded">Superseded: order 1-474-594-12</span>' in head
    assert "superseded one-way on 2024-03-01" in html
    assert "Safety-critical" in html
    assert "KDL-55W800C" in html
    assert "History across releases" in html


@pytest.mark.usefixtures("catalogue")
def test_part_page_as_of_an_earlier_release(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    html = client.get("/catalog/parts/1-474-594-11?as_of=2026.1").get_data(as_text=True)
    assert "is the current part" in html
    assert "badge-superseded" not in html  # before the supersession, nothing else to order


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("1474594-11", "/catalog/parts/1-474-594-11"),
        ("1474 59411", "/catalog/parts/1-474-594-11"),
        ("kdl55w800c", "/catalog/models/KDL-55W800C"),
    ],
)
def test_lookup_in_any_spelling(
    client: FlaskClient, auth: AuthActions, query: str, target: str
) -> None:
    auth.login()
    response = client.get("/catalog/lookup", query_string={"q": query})
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.usefixtures("catalogue")
def test_lookup_of_an_unknown_number_says_so(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    response = client.get("/catalog/lookup?q=9-999-999-99")
    assert response.status_code == 404
    assert "Nothing in the catalogue has the number" in response.get_data(as_text=True)


@pytest.mark.usefixtures("catalogue")
def test_unknown_part_page_is_the_portals_404(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    response = client.get("/catalog/parts/9-999")
    assert response.status_code == 404
    assert "Part 9-999 is not in the catalogue." in response.get_data(as_text=True)


@pytest.mark.usefixtures("catalogue")
def test_model_page_lists_parts_by_diagram_and_reference(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    html = client.get("/catalog/models/KDL-55W800C").get_data(as_text=True)
    assert "Main chassis" in html
    assert html.index(">101<") < html.index(">102<")


@pytest.mark.usefixtures("catalogue")
def test_releases_and_diff_pages(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    assert "2026.2" in client.get("/catalog/releases").get_data(as_text=True)
    html = client.get("/catalog/releases/2026.1/diff/2026.2").get_data(as_text=True)
    assert "1 newly superseded" in html


def upload(client: FlaskClient, auth: AuthActions, label: str, archive: Path, **extra: str):
    return client.post(
        "/catalog/releases/upload",
        data={
            "label": label,
            "files": (io.BytesIO(archive.read_bytes()), archive.name),
            "csrf_token": auth.csrf(),
            **extra,
        },
        content_type="multipart/form-data",
    )


def test_engineer_uploads_a_release(
    client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    auth.login(Role.ENGINEER)
    archive = zip_release(base_release(tmp_path / "r1"), tmp_path / "r1.zip")
    checked = upload(client, auth, "2026.1", archive, dry_run="y")
    assert "Valid; would import release 2026.1" in checked.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Release)) == 0
    response = upload(client, auth, "2026.1", archive)
    assert response.status_code == 302
    assert session.scalars(select(Release.imported_by)).one() == auth.user.email
    # The search index follows before the answer: the new release is found at once.
    found = client.get("/api/v1/search?q=main+board").get_json()["results"]
    assert [r["key"] for r in found] == ["A-2072-533-A"]


def test_a_refused_upload_shows_every_problem_and_keeps_the_label(
    client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    auth.login(Role.ENGINEER)
    folder = base_release(
        tmp_path / "bad", fitments=[{"model_number": "NOPE", "part_number": "1-474-594-11"}]
    )
    response = upload(client, auth, "2026.9", zip_release(folder, tmp_path / "bad.zip"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "nothing was imported" in html
    assert (
        "fitments.csv:2 [model_number]: model NOPE is not in this release or an earlier one" in html
    )
    assert 'value="2026.9"' in html
    assert session.scalar(select(func.count()).select_from(Release)) == 0


def test_only_engineers_and_admins_upload(client: FlaskClient, auth: AuthActions) -> None:
    auth.login(Role.TECHNICIAN)
    assert client.get("/catalog/releases/upload").status_code == 403


@pytest.mark.usefixtures("catalogue")
def test_a_wrong_fitment_report_reaches_the_engineers(
    app, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    technician = auth.login(Role.TECHNICIAN)
    response = client.post(
        "/catalog/fitments/report",
        data={
            "part_number": "A-2072-533-A",
            "model_number": "KDL-55W800C",
            "ref_no": "102",
            "note": "The <b>connector</b> differs",
            "csrf_token": auth.csrf(),
        },
    )
    assert response.status_code == 302
    erratum = session.scalars(select(Erratum)).one()
    assert (erratum.part_number, erratum.model_number, erratum.reported_by) == (
        "A-2072-533-A",
        "KDL-55W800C",
        technician.email,
    )
    engineer_client = app.test_client()
    engineer = AuthActions(engineer_client, session)
    engineer.login(Role.ENGINEER)
    queue = engineer_client.get("/catalog/errata").get_data(as_text=True)
    assert "A-2072-533-A" in queue
    assert "The &lt;b&gt;connector&lt;/b&gt; differs" in queue
    closed = engineer_client.post(
        f"/catalog/errata/{erratum.id}/resolve",
        data={"resolution": "Fitment removed in 2026.3", "csrf_token": engineer.csrf()},
    )
    assert closed.status_code == 302
    session.refresh(erratum)
    assert erratum.resolved_by == engineer.user.email
    assert "No open reports." in engineer_client.get("/catalog/errata").get_data(as_text=True)
