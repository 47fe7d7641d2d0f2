"""A request id for every request, and one JSON log line per request.

The id is the incoming ``X-Request-ID`` when that is a sane token (a proxy or a client that
already named the request), else a new one. It is kept on ``flask.g.request_id``, sent back as
the ``X-Request-ID`` response header, shown on the error page, and added to every record of the
application's logger during the request, so that an error in the log can be found from what a
person saw. Request lines go to the ``benchside.request`` logger at INFO::

    {"time": "...", "request_id": "...", "method": "GET", "path": "/orders/12", "status": 200,
     "duration_ms": 4.2, "user_id": 7, "remote_addr": "10.1.2.3"}

The path is logged without its query string, and a path that carries a secret (a password-reset
or invitation token) is logged as its route (``/password/reset/<token>``).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Request, g, has_request_context, request
from flask.logging import has_level_handler, wsgi_errors_stream
from flask_login import current_user
from werkzeug.wrappers import Response

HEADER = "X-Request-ID"
#: What an incoming id may look like: a UUID, a proxy's hex id, a trace id. Anything else (too
#: long, spaces, quotes, control characters) could forge or break log lines, and is replaced.
SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

logger = logging.getLogger("benchside.request")

# Like Flask's own default handler: used only when logging is not configured otherwise, and
# writes to the server's error stream (gunicorn's error log), one JSON document a line.
_handler = logging.StreamHandler(wsgi_errors_stream)  # type: ignore[call-overload]
_handler.setFormatter(logging.Formatter("%(message)s"))


def current_request_id() -> str | None:
    """The id of the request being handled, or ``None`` outside a request."""
    if not has_request_context():
        return None
    request_id: str | None = g.get("request_id")
    return request_id


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to each record of the application's logger, and to its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        record.request_id = request_id
        if request_id is not None and not getattr(record, "request_id_added", False):
            # The default formatter prints the message only; the id must survive any format.
            record.msg = f"{record.getMessage()} [request_id={request_id}]"
            record.args = None
            record.request_id_added = True
        return True


_filter = RequestIdFilter()


def _begin() -> None:
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _user_id() -> int | None:
    try:
        # Flask-Login keeps the request's user on ``g``; by now the portal's own after-request
        # hook has asked for it, so the proxy (a few lookups deep) is needed only when not.
        user = g.get("_login_user") or current_user
        if user and user.is_authenticated:
            user_id: int = user.id
            return user_id
    except Exception:  # a log line must never turn a response into an error
        return None
    return None


def _path(current: Request) -> str:
    rule = current.url_rule
    if rule is not None and "token" in (current.view_args or {}):
        return rule.rule
    return current.path


def fields(response: Response) -> dict[str, Any]:
    """What the log line says about the current request and its ``response``."""
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    started = g.get("request_started")
    duration = (time.perf_counter() - started) * 1000 if started is not None else None
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request_id": current_request_id(),
        "method": current.method,
        "path": _path(current),
        "status": response.status_code,
        "duration_ms": round(duration, 1) if duration is not None else None,
        "user_id": _user_id(),
        "remote_addr": current.remote_addr,
    }


def _finish(response: Response) -> Response:
    if "request_id" not in g:  # a hook before ours refused the request: name it all the same
        _begin()
    response.headers[HEADER] = g.request_id
    if logger.isEnabledFor(logging.INFO):
        line = fields(response)
        # ``logger.info`` would also look up the caller's frame, which no line shows: a
        # tenth of the line's cost. The record is otherwise what ``info`` makes.
        record = logger.makeRecord(
            logger.name,
            logging.INFO,
            __file__,
            0,
            json.dumps(line),
            (),
            None,
            extra={"request_log": line},
        )
        logger.handle(record)
    return response


def init_app(app: Flask) -> None:
    """Register before the portal's own hooks: the id exists before they run (a request they
    refuse is logged too), and the line is written after they have had their say on the
    response."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.logger.addFilter(_filter)  # one filter object: adding it again does nothing
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not has_level_handler(logger):
        logger.addHandler(_handler)
