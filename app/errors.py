"""Every error answered in one place: portal pages for people, JSON for the API."""

from __future__ import annotations

from flask import Flask, g, jsonify, render_template
from flask_login import current_user
from werkzeug.datastructures import Headers
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError
from werkzeug.wrappers import Response

from app.access import is_api_request
from app.exceptions import AppError
from diagnostics.errors import (
    DiagnosticsError,
    InvalidTree,
    NoTreeFound,
    UnknownSession,
    UnknownTree,
)
from parts_catalog.errors import (
    CatalogError,
    InvalidRelease,
    NoReleases,
    UnknownModel,
    UnknownPart,
    UnknownRelease,
)

TITLES = {
    400: "That request could not be used",
    401: "Please sign in",
    403: "Not open to your role",
    404: "Page not found",
    405: "Not allowed here",
    409: "That clashes with what is there now",
    410: "No longer there",
    413: "Too large",
    428: "Say which version you changed",
    422: "Not accepted",
    429: "Too many requests",
    500: "Something went wrong on our side",
}


def _respond(
    code: int, message: str, *, details: object = None, headers: Headers | None = None
) -> tuple[Response | str, int, Headers]:
    """The answer to a refusal; ``headers`` are the ones HTTP asks of it (``Allow`` on a 405,
    ``WWW-Authenticate``, ``Retry-After``), kept from the exception."""
    kept = Headers([(k, v) for k, v in (headers or Headers()) if k.lower() != "content-type"])
    if is_api_request():
        body: dict[str, object] = {
            "error": TITLES.get(code, "Error"),
            "message": message,
            "status": code,
        }
        if details:
            body["errors"] = details
        return jsonify(body), code, kept
    return (
        render_template(
            "errors/error.html", code=code, title=TITLES.get(code, "Error"), message=message
        ),
        code,
        kept,
    )


def _per_field(messages: object) -> object:
    """webargs files its messages under where they were read (``{"json": {field: [...]}}``);
    one location is the body or the query itself, so the answer names the fields directly."""
    if isinstance(messages, dict) and len(messages) == 1:
        [(location, inner)] = messages.items()
        if location in ("json", "query", "form", "files", "headers"):
            return inner
    return messages


def _forbidden_message() -> str:
    if current_user.is_authenticated:
        return (
            f"You are signed in as {current_user.email} ({current_user.role.label}), and this "
            "page is not open to that role. If you need it for your work, ask an administrator."
        )
    return "This page is not open to you."


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response | str, int, Headers]:
        code = exc.code or 500
        headers = Headers(exc.get_headers())
        if code == 403:
            # A view that refuses for a reason of its own says it; otherwise, the role.
            own = exc.description if exc.description != Forbidden.description else None
            return _respond(403, own or _forbidden_message())
        if code == 404:
            return _respond(
                404, "There is nothing at this address. Check it, or start again from the menu."
            )
        if code == 401:
            return _respond(401, "Sign in, or send an API token as 'Authorization: Bearer ...'.")
        # flask-smorest's argument validation puts the messages per field in ``data``.
        details = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
        if details:
            return _respond(
                code, "Some values are not valid; see errors.", details=_per_field(details)
            )
        return _respond(code, exc.description or TITLES.get(code, "Error"), headers=headers)

    @app.errorhandler(AppError)
    def _app_error(exc: AppError) -> tuple[Response | str, int, Headers]:
        # Form pages catch their feature's errors to re-render what was typed; what reaches
        # here is answered with the error's own status and words.
        return _respond(exc.status, exc.message, details=exc.errors or None)

    @app.errorhandler(CatalogError)
    def _catalog_error(exc: CatalogError) -> tuple[Response | str, int, Headers]:
        if isinstance(exc, UnknownPart | UnknownModel | UnknownRelease | NoReleases):
            return _respond(404, str(exc))
        if isinstance(exc, InvalidRelease):
            return _respond(422, str(exc), details=[str(p) for p in exc.problems])
        return _respond(400, str(exc))

    @app.errorhandler(DiagnosticsError)
    def _diagnostics_error(exc: DiagnosticsError) -> tuple[Response | str, int, Headers]:
        if isinstance(exc, UnknownSession | UnknownTree | NoTreeFound):
            return _respond(404, str(exc))
        if isinstance(exc, InvalidTree):
            return _respond(422, str(exc), details=[str(p) for p in exc.problems])
        return _respond(422, str(exc))

    @app.errorhandler(InternalServerError)
    def _server_error(exc: InternalServerError) -> tuple[Response | str, int, Headers]:
        # A failed flush leaves the request's session unusable, and rendering the page reads the
        # signed-in user through it: roll back first, or the error page itself fails.
        session = g.get("db_session")
        if session is not None:
            session.rollback()
        return _respond(
            500,
            "The error has been logged. Nothing you sent was saved; go back and try again, and if "
            "it keeps happening, tell your administrator the time it happened.",
        )
