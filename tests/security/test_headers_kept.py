"""A view that sets a security header itself keeps its own, once; the others are added."""

from __future__ import annotations

from flask import Flask, make_response
from werkzeug.wrappers import Response

from app.access import public
from app.security import HEADERS


def test_a_views_own_security_header_is_kept_once_and_the_rest_added(app: Flask) -> None:
    @public
    def own_policy() -> Response:
        response = make_response("drawn")
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        response.headers["x-frame-options"] = "SAMEORIGIN"  # any spelling of the name counts
        return response

    app.add_url_rule("/__own-policy", "own_policy", own_policy)
    answer = app.test_client().get("/__own-policy")
    assert answer.status_code == 200
    assert answer.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert answer.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    added = {
        n: v for n, v in HEADERS.items() if n not in ("Content-Security-Policy", "X-Frame-Options")
    }
    for name, value in added.items():
        assert answer.headers.getlist(name) == [value]
