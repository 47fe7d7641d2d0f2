"""Refuse input that cannot be stored: control characters and bytes that are not UTF-8.

PostgreSQL rejects NUL in text, so unguarded it surfaces as a 500 and the person's text is lost;
other control characters (tab, newline and carriage return aside) are refused with it, since
they only ever arrive by accident and corrupt what is shown. Pages whose form re-renders what was
typed let the form name the field instead (``app.forms``).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import request
from werkzeug.exceptions import BadRequest

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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


def problem(*, form_checks_nul: bool) -> str | None:
    """Describe what is wrong with the current request's input, or return ``None``."""
    if _undecodable(request.query_string):
        return "The address contains bytes that are not valid UTF-8 text."
    texts = [v for _k, values in request.args.lists() for v in values]
    texts += [str(v) for v in (request.view_args or {}).values()]
    mimetype = request.mimetype
    if mimetype == "application/x-www-form-urlencoded":
        if _undecodable(request.get_data(cache=True)):
            return "The form contains bytes that are not valid UTF-8 text."
    elif mimetype == "multipart/form-data":
        if any(REPLACEMENT in v for _k, values in request.form.lists() for v in values):
            return "The form contains bytes that are not valid UTF-8 text."
    elif request.is_json and request.content_length:
        try:
            document = json.loads(request.get_data(cache=True).decode("utf-8"))
        except UnicodeDecodeError:
            return "The request body is not valid UTF-8 text."
        except ValueError:
            return None  # malformed JSON is the API's to report, with its own message
        except RecursionError:
            return "The request body is nested too deeply."
        try:
            texts += _strings(document)
        except RecursionError:
            return "The request body is nested too deeply."
    if not form_checks_nul:
        texts += [v for _k, values in request.form.lists() for v in values]
    if any(CONTROL.search(text) for text in texts):
        return (
            "The input contains a control character (such as NUL, \\0), which cannot be stored: "
            "remove it."
        )
    return None


def guard(*, form_checks_nul: bool) -> None:
    message = problem(form_checks_nul=form_checks_nul)
    if message is not None:
        raise BadInput(description=message)
