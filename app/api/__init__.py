"""The JSON API under /api/v1: session cookie or ``Authorization: Bearer`` token.

flask-smorest validates arguments, serialises answers through marshmallow schemas and builds the
OpenAPI document at /api/v1/openapi.json from them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from flask import Flask, jsonify, request
from flask_smorest import Api, Blueprint
from marshmallow import Schema

View = TypeVar("View", bound=Callable[..., Any])


class ApiBlueprint(Protocol):
    """What the views use of flask-smorest's Blueprint, typed: its decorators return the view
    as it was (flask-smorest ships no type information)."""

    def route(self, rule: str, **options: Any) -> Callable[[View], View]: ...

    def arguments(self, schema: Any, **options: Any) -> Callable[[View], View]: ...

    def response(
        self, status_code: int, schema: Any = None, **options: Any
    ) -> Callable[[View], View]: ...

    def doc(self, **documentation: Any) -> Callable[[View], View]: ...


def plain_without_query(arguments: type[Schema]) -> Callable[[View], View]:
    """Between ``@bp.route`` and ``@bp.arguments``: a request with no query string calls the
    view itself with the arguments' defaults and sends its document as it is, as JSON.

    webargs and marshmallow cost about a tenth of a small answer's time, to parse nothing and
    to copy a document that is already what the response schema dumps. Only for views whose
    documents are exactly their schema's dump (tests/web/test_api_hot_path.py checks); a
    query string still goes through webargs, and the OpenAPI document is the decorators' own.
    """
    defaults = arguments().load({})

    def decorate(parsed: View) -> View:
        view = inspect.unwrap(parsed)

        @functools.wraps(parsed)
        def plain(*args: Any, **kwargs: Any) -> Any:
            if request.query_string:
                return parsed(*args, **kwargs)
            return jsonify(view(*args, **kwargs, **defaults))

        return cast(View, plain)

    return decorate


bp = cast(
    ApiBlueprint, Blueprint("api", __name__, url_prefix="/api/v1", description="Benchside API")
)

# Importing the modules registers their views on ``bp``.
from app.api import (  # noqa: F401
    catalog,
    diagnostics,
    escalations,
    notices,
    orders,
    repairs,
    routes,
    search,
    trees,
    warranty,
)


def init_app(app: Flask) -> None:
    app.config.update(
        API_TITLE="Benchside",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "benchside_session"},
                }
            },
            "security": [{"bearer": []}, {"session": []}],
        },
    )
    api = Api(app)
    api.register_blueprint(bp)
    app.extensions["api"] = api
