"""A one-word search names a number: the notices about its part's chain, then those about the
model it names (by glob or by its product line); none about something else."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.notices import search, services
from tests.notices.test_notices import _published, catalogue  # noqa: F401  (a fixture)


@pytest.mark.usefixtures("catalogue")
def test_a_number_finds_notices_about_its_chain_its_model_and_its_line(
    app: Flask, session: Session
) -> None:
    part = _published(session, app, title="Capacitor C512", targets={"part": ["1-474-594-12"]})
    glob = _published(session, app, title="Bravia 55 inch sets", targets={"model": ["KDL-55*"]})
    line = _published(session, app, title="Every TV", targets={"product_line": ["tv"]})
    camera = _published(session, app, title="Cameras", targets={"product_line": ["Camera"]})
    assert {n.id for n in search.find(session, "1474594-11")} == {part.id}
    assert {n.id for n in search.find(session, "kdl55w800c")} == {glob.id, line.id}
    assert {n.id for n in search.find(session, "DSC-RX100M3")} == {camera.id}
    assert search.find(session, "toaster") == []


@pytest.mark.usefixtures("catalogue")
def test_a_notice_naming_two_links_of_a_chain_is_listed_once_safety_first(
    app: Flask, session: Session
) -> None:
    both = _published(
        session,
        app,
        safety=False,
        title="Both numbers",
        targets={"part": ["1-474-594-11", "1474594-12"]},
    )
    safety = _published(session, app, title="Safety first", targets={"part": ["1-474-594-12"]})
    assert [n.id for n in services.about_parts(session, ["1-474-594-11"])] == [safety.id, both.id]


@pytest.mark.usefixtures("catalogue")
def test_words_find_notices_saying_every_one_of_them(app: Flask, session: Session) -> None:
    plain = {"what_changes": "A new part.", "why": "It fails.", "what_to_do": "Order the new one."}
    cap = _published(session, app, title="Capacitor C512 bulges", **plain)
    psu = _published(
        session, app, title="Power supply 100% load", targets={"model": ["KDL-55*"]}, **plain
    )
    assert [n.id for n in search.find(session, "capacitor")] == [cap.id]
    assert [n.id for n in search.find(session, "CAPACITOR bulges")] == [cap.id]
    assert search.find(session, "capacitor supply") == []  # every word, not any
    assert [n.id for n in search.find(session, "power supply 100%")] == [psu.id]
    assert search.find(session, "10_% load") == []  # % and _ are what was typed, not wildcards
    assert [n.id for n in search.find(session, "1-474-594-12 bulges")] == [cap.id]  # a target
    assert {n.id for n in search.find(session, "new one", limit=5)} == {cap.id, psu.id}
    assert len(search.find(session, "new one", limit=1)) == 1
