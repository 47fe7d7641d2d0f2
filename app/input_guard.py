"""Refuse input that cannot be stored: control characters, lone surrogates, bytes not UTF-8.

PostgreSQL rejects NUL in text, so unguarded it surfaces as a 500 and the person's text is lost;
other control characters (tab, newline and carriage return aside) are refused with it, since
they only ever arrive by accident and corrupt what is shown. JSON can spell half of a UTF-16
pair (``"\\ud800"``), which no database text column takes and which, once kept inside a JSON
column, makes every page that shows it fail: refused too. Pages whose form re-renders what was
typed let the form name the field instead (``app.forms``).

Every body is read whatever its framing: a chunked request has no Content-Length, and the guard
must not take that for "no body" (Werkzeug still caps it at ``MAX_CONTENT_LENGTH``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import request
from werkzeug.exceptions import BadRequest

from app.storable import CONTROL, SURROGATE

# What Werkzeug substitutes for bytes that do not decode in multipart bodies.
REPLACEMENT = "\ufffd"


class BadInput(BadRequest):
    """Input that was refused before anything could act on it."""


def _undecodable(raw: bytes) -> bool:
    for pair in raw.split(b"&"):
        try:
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in _strings(key) + _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _json_body() -> tuple[Any, str | None]:
    """The request's JSON document, or why it cannot be read; malformed JSON is ``None``, for
    the API to report with its own message."""
    body = request.get_data(cache=True)
    if not body:
        return None, None
    try:
        return json.loads(body.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, "The request body is not valid UTF-8 text."
    except RecursionError:
        return None, "The request body is nested too deeply."
    except ValueError:
        return None, None


def _has_body() -> bool:
    """Whether the request may carry a body: a length above zero, or any transfer coding (a
    chunked body has no Content-Length)."""
    return bool(request.content_length) or "Transfer-Encoding" in request.headers


def problem(*, form_checks_nul: bool) -> str | None:
    """Describe what is wrong with the current request's input, or return ``None``."""
    texts = [str(v) for v in (request.view_args or {}).values()]
    if request.query_string:
        if _undecodable(request.query_string):
            return "The address contains bytes that are not valid UTF-8 text."
        texts += [v for _k, values in request.args.lists() for v in values]
    # Nearly every request is a GET without a body: nothing below could find anything in it,
    # and reading the form of each one cost a twentieth of a small request's time.
    if _has_body():
        message = _body_problem(texts, form_checks_nul=form_checks_nul)
        if message is not None:
            return message
    if any(CONTROL.search(text) for text in texts):
        return (
            "The input contains a control character (such as NUL, \\0), which cannot be stored: "
            "remove it."
        )
    if any(SURROGATE.search(text) for text in texts):
        return (
            "The input contains half of a UTF-16 surrogate pair (such as \\ud800), which is not "
            "text and cannot be stored: send the whole character, or remove it."
        )
    return None


def _body_problem(texts: list[str], *, form_checks_nul: bool) -> str | None:
    """What is wrong with the body's encoding, or ``None``; adds the body's texts to ``texts``
    for the checks every input gets."""
    mimetype = request.mimetype
    if mimetype == "application/x-www-form-urlencoded":
        if _undecodable(request.get_data(cache=True)):
            return "The form contains bytes that are not valid UTF-8 text."
    elif mimetype == "multipart/form-data":
        if any(REPLACEMENT in v for _k, values in request.form.lists() for v in values):
            return "The form contains bytes that are not valid UTF-8 text."
    elif request.is_json:
        document, message = _json_body()
        if message is not None:
            return message
        try:
            texts += _strings(document)
        except RecursionError:
            return "The request body is nested too deeply."
    if not form_checks_nul:
        texts += [v for _k, values in request.form.lists() for v in values]
    return None


def guard(*, form_checks_nul: bool) -> None:
    message = problem(form_checks_nul=form_checks_nul)
    if message is not None:
        raise BadInput(description=message)
