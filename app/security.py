"""Security headers on every response (pages, the API, errors, static files), and no
state-changing request that another site started.

The Content-Security-Policy allows scripts, styles and images from the portal itself only, so a
piece of markup that slipped through escaping could not run: no inline ``<script>``, no ``on…=``
attributes, no ``style="…"``. Behaviour lives in ``app/static/*.js`` and looks lives in
``benchside.css``. Strict-Transport-Security is sent in production only, where the portal is
behind HTTPS; elsewhere it would pin a developer's ``localhost`` to HTTPS.

A state-changing request that the browser itself says another site started (the Fetch Metadata
header ``Sec-Fetch-Site: cross-site``) is refused before anything else looks at it. CSRF tokens
remain the defence; this one also covers what runs before a token can be checked (a form kept
through an expired sign-in) and costs nothing: no page of the portal is posted to from elsewhere,
and API clients are not browsers and send no such header.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, request
from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)

#: Browser features the portal never uses are refused to every page; the camera is the portal's
#: own (scan.js reads a rating plate's barcode), never an embedded page's.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()" if feature != "camera" else "camera=(self)"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Full address to the portal's own pages, none to other sites: reset and invitation links
    # carry their token in the path. Not "no-referrer": Flask-WTF checks the Referer of a form
    # sent over HTTPS against the portal's host.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

_KEYED_HEADERS = tuple((name.lower(), name, value) for name, value in HEADERS.items())


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CROSS_SITE_MESSAGE = (
    "This was sent to the portal by another website, so nothing was done. If you meant to do "
    "it, open the page in the portal and do it there."
)


def refuse_cross_site() -> None:
    """Before each request: a POST, PUT, PATCH or DELETE started by another site is a 403."""
    if request.method in UNSAFE_METHODS and request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(403, description=CROSS_SITE_MESSAGE)


def add_headers(response: Response) -> Response:
    """Set the security headers on ``response``; a view that set one itself keeps its own."""
    # One pass over the response's headers rather than a search per header (setdefault): this
    # runs on every response, and seven searches cost more than a small view's own work.
    present = set(response.headers.keys(lower=True))
    response.headers.extend([(n, v) for key, n, v in _KEYED_HEADERS if key not in present])
    if current_app.config["ENV_NAME"] == "production":
        response.headers.setdefault(
            "Strict-Transport-Security",
            f"max-age={current_app.config['HSTS_MAX_AGE_SECONDS']}; includeSubDomains",
        )
    return response


def init_app(app: Flask) -> None:
    app.before_request(refuse_cross_site)
    app.after_request(add_headers)
