"""Did you mean, through the portal: the search page and ``GET /api/v1/search`` answer the misses
issue 21 names (a number one digit off, a swapped pair, "power suply kdl-55w800c", a model
number misspelt) with something that finds results."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from parts_catalog import synonyms
from tests.web.test_search import api, catalogue, signed_in  # noqa: F401  (fixtures)


@pytest.fixture
def starter_synonyms(session: Session) -> None:
    synonyms.load_starter(session)  # "power supply" means POWER BOARD
    session.commit()


pytestmark = pytest.mark.usefixtures("catalogue", "starter_synonyms", "signed_in")


def corrections(client: FlaskClient, q: str) -> list[tuple[str, str]]:
    body = api(client, q=q)
    assert body["results"] == [] or body["ignored"], body
    assert body["did_you_mean"] == (
        body["corrections"][0]["query"] if body["corrections"] else None
    )
    return [(c["query"], c["reason"]) for c in body["corrections"]]


def test_the_api_offers_the_real_numbers_one_digit_off(client: FlaskClient) -> None:
    body = api(client, q="1-474-594-13")
    assert body["results"] == []
    first, second = body["corrections"][:2]
    assert first == {
        "query": "1-474-594-12",
        "reason": "digit",
        "kind": "part",
        "key": "1-474-594-12",
        "title": "POWER BOARD (GL2A)",
        "status": "active",
        "found": 1,
    }
    assert (second["query"], second["status"]) == ("1-474-594-11", "superseded")
    assert body["did_you_mean"] == "1-474-594-12"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("1-474-549-12", ("1-474-594-12", "swap")),
        ("1474 549 12", ("1-474-594-12", "swap")),  # any spelling
        ("power suply kdl-55w800c", ("power supply kdl-55w800c", "spelling")),
        ("kdl-55w80c", ("KDL-55W800C", "missing")),
        ("power board kdl-55w80c", ("power board KDL-55W800C", "model")),
        ("mane", ("main", "spelling")),
    ],
)
def test_the_api_answers_the_issues_misses(
    client: FlaskClient, typed: str, meant: tuple[str, str]
) -> None:
    assert corrections(client, typed)[0] == meant
    # What is offered finds something.
    assert api(client, q=meant[0])["results"]


def test_the_api_says_nothing_when_nothing_is_near(client: FlaskClient) -> None:
    for q in ("xyzzy", "9-999-999-99", "camera flash"):
        body = api(client, q=q)
        assert (body["corrections"], body["did_you_mean"]) == ([], None), q
    # Found as typed: no corrections.
    assert api(client, q="power board")["corrections"] == []


def test_the_page_lists_numbers_one_digit_off_with_their_descriptions(
    client: FlaskClient,
) -> None:
    html = client.get("/search?q=1-474-594-13").get_data(as_text=True)
    assert "Nothing in the catalogue matches" in html
    assert "Did you mean" in html
    current = html.index('<a href="/search?q=1-474-594-12">1-474-594-12</a>')
    superseded = html.index('<a href="/search?q=1-474-594-11">1-474-594-11</a>')
    assert current < superseded  # what to order today first
    assert "POWER BOARD (GL2A)" in html[current:superseded]
    assert "one digit different" in html[current:superseded]
    assert ">superseded</span>" in html[superseded:]


def test_the_page_shows_the_one_number_meant_at_once(client: FlaskClient) -> None:
    html = client.get("/search?q=1-474-549-12").get_data(as_text=True)
    assert "Showing results for <strong>1-474-594-12</strong> (two characters swapped)" in html
    assert 'class="hit-key" href="/catalog/parts/1-474-594-12"' in html
    assert 'href="/search?q=1-474-549-12&amp;as_typed=1">1-474-549-12</a>' in html
    as_typed = client.get("/search?q=1-474-549-12&as_typed=1").get_data(as_text=True)
    assert "Nothing in the catalogue matches" in as_typed
    assert '<a href="/search?q=1-474-594-12">1-474-594-12</a>' in as_typed


def test_the_page_corrects_words_and_keeps_the_model_number(client: FlaskClient) -> None:
    html = client.get("/search?q=power+suply+kdl-55w800c").get_data(as_text=True)
    assert "Showing results for <strong>power supply kdl-55w800c</strong>" in html
    assert "(spelling corrected)" in html
    assert 'class="hit-key" href="/catalog/parts/1-474-594-11"' in html
    # The power board of another model is not among them.
    assert 'href="/catalog/parts/1-474-594-12"' not in html


def test_the_page_offers_the_model_meant_beside_the_words(client: FlaskClient) -> None:
    html = client.get("/search?q=power+board+kdl-55w80c").get_data(as_text=True)
    # The words found power boards of every model; the model meant is offered above them.
    assert "left out: kdl-55w80c" in html
    assert '<a href="/search?q=power+board+KDL-55W800C">power board KDL-55W800C</a>' in html
    assert "Bravia 55W800C (KDL-55W800C)" in html
    assert "model number corrected" in html
