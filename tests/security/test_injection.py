"""SQL (and search-syntax) injection in every search and filter parameter: never a server
error, nothing found that the words themselves would not find, nothing of another account.

Queries are built with SQLAlchemy's bound parameters and Whoosh's parser; these tests keep it
that way for every parameter a page or the API reads.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.search import indexing
from tests.security.conftest import World, sign_in

INJECTIONS = [
    "' OR 1=1 --",
    '" OR ""="',
    "' OR '1'='1' /*",
    "1; DROP TABLE users; --",
    "') UNION SELECT password_hash, email FROM users --",
    "%' OR '%'='",
    "\\",
    "%",
    "_",
    "*",
    "*:*",
    "title:* OR description:*",
    "AND OR NOT ((",
    "x' AND (SELECT 1 FROM pg_sleep(3)) --",
    "1-474-594-11' OR 'a'='a",
    "x" * 5000,
]

#: Every parameter a page or the API reads to search or filter, and where.
SEARCHES = [
    "/search?q={}",
    "/search?q=board&kind={}",
    "/search?q=board&category={}",
    "/search?q=board&status={}",
    "/search?q=board&product_line={}",
    "/search?q=board&model={}",
    "/search?q=board&page={}",
    "/search/suggest?q={}",
    "/search/suggest?q=board&kind={}",
    "/catalog/lookup?q={}",
    "/catalog/parts/{}",
    "/catalog/parts/1-474-594-11?as_of={}",
    "/catalog/parts/1-474-594-11?serial={}",
    "/catalog/models/{}",
    "/catalog/models/KDL-55W800C?as_of={}",
    "/catalog/releases/{}/diff/r1",
    "/catalog/releases/compare?a={}&b=r1",
    "/diagnose?q={}",
    "/diagnose?model={}",
    "/diagnose/trees/{}",
    "/diagnose/sessions/{}",
    "/escalations/{}",
    "/escalations/new?session={}",
    "/api/v1/search?q={}",
    "/api/v1/search?q=board&kind={}",
    "/api/v1/search?q=board&category={}",
    "/api/v1/search?q=board&status={}",
    "/api/v1/search?q=board&product_line={}",
    "/api/v1/search?q=board&model={}",
    "/api/v1/search?q=board&limit={}",
    "/escalations/new?parked={}",
    "/api/v1/parts/{}",
    "/api/v1/parts/1-474-594-11?as_of={}",
    "/api/v1/parts/{}/resolution",
    "/api/v1/parts/1-474-594-11/resolution?serial={}",
    "/api/v1/parts/{}/where-used",
    "/api/v1/models/{}/parts",
    "/api/v1/releases/r1/diff/{}",
    "/api/v1/releases/r1/diff/r1?limit={}",
    "/api/v1/diagnostics/trees?model={}",
    "/api/v1/diagnostics/trees/{}",
    "/api/v1/diagnostics/sessions/{}",
    "/api/v1/escalations/{}",
]
AGENT_SEARCHES = [
    "/escalations?tier={}",
    "/escalations?product_line={}",
    "/escalations?assigned={}",
    "/escalations?late={}",
]
ENGINEER_SEARCHES = [
    "/authoring/trees/{}",
    "/authoring/trees/tv-red-led-blinks/try?a={}",
    "/authoring/trees/{}/diff",
    "/authoring/trees/tv-red-led-blinks/download?format={}",
]


def _secrets(session: Session) -> list[str]:
    """What no search may ever show: password hashes, and the other centre's people."""
    users = session.scalars(select(User)).all()
    return [u.password_hash for u in users]


def _probe(client: FlaskClient, templates: list[str], secrets: list[str]) -> list[str]:
    problems = []
    answered = 0
    for template in templates:
        for injection in INJECTIONS:
            url = template.format(quote(injection, safe=""))
            with client.get(url) as response:
                body = response.get_data(as_text=True)
                if response.status_code >= 500:
                    problems.append(f"{url[:120]}: {response.status_code}")
                problems += [f"{url[:120]}: shows a password hash" for s in secrets if s in body]
                answered += response.status_code == 200
    assert answered >= len(templates)  # pages answered, not only refusals
    return problems


@pytest.fixture
def indexed(app: Flask, world: World) -> World:
    for store in indexing.stores(app):
        indexing.sync(app.extensions["session_factory"], store)
    return world


def test_no_parameter_breaks_or_leaks(app: Flask, session: Session, indexed: World) -> None:
    secrets = _secrets(session)
    users = session.scalar(select(func.count()).select_from(User))
    problems = _probe(sign_in(app, indexed.tech_b), SEARCHES, secrets)
    problems += _probe(sign_in(app, indexed.agent), AGENT_SEARCHES, secrets)
    problems += _probe(sign_in(app, indexed.engineer), ENGINEER_SEARCHES, secrets)
    assert problems == []
    assert session.scalar(select(func.count()).select_from(User)) == users  # no DROP ran


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\b\d-\d{3}-\d{3}-\d{2}\b|\b[A-Z]-\d{4}-\d{3}-[A-Z]\b", text))


@pytest.mark.parametrize("injection", ["' OR 1=1 --", "%' OR '%'='", "*:*", "' OR 'a'='a"])
def test_an_injection_finds_nothing_the_plain_words_would_not(
    app: Flask, indexed: World, injection: str
) -> None:
    client = sign_in(app, indexed.tech_a)
    # The catalogue knows parts (the world's release); a real search finds them.
    assert client.get("/api/v1/search?q=power+board").get_json()["total"] > 0
    assert _numbers(client.get("/search?q=power+board").text)
    found = client.get("/api/v1/search", query_string={"q": injection}).get_json()
    assert found["index_available"]
    words = " ".join(re.findall(r"[A-Za-z0-9]+", injection))
    plain = client.get("/api/v1/search", query_string={"q": words or "zzz"}).get_json()
    keys = {hit["key"] for hit in found["results"]}
    assert keys <= {hit["key"] for hit in plain["results"]}
    assert found["total"] <= plain["total"]
    lookup = client.get("/catalog/lookup", query_string={"q": injection})
    assert lookup.status_code == 404  # no part or model is named that
    page = client.get("/search", query_string={"q": injection})
    assert page.status_code == 200
    assert _numbers(page.text) <= _numbers(client.get("/search", query_string={"q": words}).text)


def test_ids_of_other_records_cannot_be_widened(app: Flask, indexed: World) -> None:
    """Record ids and references in paths are matched exactly: an injection there is a 404,
    never the first or every record."""
    stranger = sign_in(app, indexed.tech_b)
    for url in (
        f"/orders/{indexed.order.id}%20OR%201=1",
        "/escalations/ESC-%25",
        "/escalations/' OR '1'='1",
        f"/escalations/{indexed.ticket.reference}' OR '1'='1",
        f"/api/v1/escalations/{indexed.ticket.reference}%25",
        "/api/v1/orders/0%20OR%201=1",
    ):
        response = stranger.get(url)
        assert response.status_code == 404, url
