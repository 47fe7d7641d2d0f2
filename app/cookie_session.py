"""Flask's signed-cookie session, without the per-request costs it pays for nothing.

Flask builds its signer (an itsdangerous serializer) anew on every request, cookie or not, and
reads seven cookie settings before it looks whether there is anything to save. An API call with
a bearer token has no cookie and saves none; a page with a session cookie saves nothing unless
the session changed. Both paid about a twentieth of a small request's time for that. The
cookie's format, signing and settings are Flask's own, unchanged.
"""

from __future__ import annotations

from flask import Flask, Response
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's interface with its signer kept while the keys stay the same."""

    def __init__(self) -> None:
        self._signer: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # Keyed by the keys themselves: a test or an operator that changes the secret key (or
        # its fallbacks) gets a signer for the new one. The signer holds no per-request state.
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self._signer
        if kept is None or kept[0] != keys:
            kept = self._signer = (keys, super().get_signing_serializer(app))
        return kept[1]

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:
            # What Flask's own method does for an empty, unchanged session, without first
            # reading every cookie setting.
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessionInterface()
