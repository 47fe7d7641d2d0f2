"""How Flask-Login finds the user: the sign-in session's token, or an API bearer token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Request, g, request
from flask_login import LoginManager
from sqlalchemy import select, true
from sqlalchemy.orm import Session

from app.access import bearer_token, is_api_request
from app.auth import services
from app.auth.models import User
from app.db import get_session, session_factory
from app.extensions import login_manager
from parts_catalog.models import Release

#: When this process last saw each open token's use noted in the database (by the token's
#: digest). It only spares the write of a use noted less than a minute ago: whether the token
#: opens the API is asked of the database on every request, so a revocation holds at once.
_noted: dict[str, datetime | None] = {}
#: Past this many tokens the memory starts again (a few extra writes, nothing else).
_NOTED_MAX = 10_000

#: The newest catalogue release's id, label and import time, read by the token's own statement:
#: nearly every API request asks the catalogue "as of the newest", and a statement of its own
#: cost as much as the token's. Outer-joined, so that a token opens the API before any release.
_NEWEST = select(Release.id, Release.label, Release.imported_at).order_by(Release.id.desc())
_NEWEST_ROW = _NEWEST.limit(1).subquery("newest_release")
_BEARER: Any = services.OPEN_TOKEN_OWNER.add_columns(*_NEWEST_ROW.c).outerjoin(_NEWEST_ROW, true())

#: Releases as this process read them, by (id, label, import time): a release is written whole
#: by its import's transaction and never changed after, so the row the key names is the row
#: kept. The key comes from the database on every request, so a new release is seen at once.
_releases: dict[tuple[int, str, datetime], Release] = {}
#: Releases are few; past this many (a long-lived process, tests) the memory starts again.
_RELEASES_MAX = 64


def _load_from_session(token: str) -> User | None:
    return services.user_for_login_token(get_session(), token)


def _load_from_bearer(_request: Request) -> User | None:
    token = bearer_token()
    if token is None or not is_api_request():
        return None
    digest = services.token_digest(token)
    if services.use_is_stale(_noted.get(digest)):
        # Before the look-up, in a transaction of its own (committed even when the request
        # fails): a GET commits nothing, and on SQLite a write behind the request's own read
        # would wait for that read to end. Once a minute per token, not on every request: a
        # write per request made two workers queue for SQLite's lock (or PostgreSQL's commit).
        with session_factory().begin() as own:
            services.note_api_token_use(own, token)
    found = services.user_for_api_token(get_session(), token, statement=_BEARER)
    if found is None:
        _noted.pop(digest, None)
        return None
    if len(_noted) >= _NOTED_MAX:
        _noted.clear()
    _noted[digest] = found.last_used_at
    newest_id, label, imported_at = found.also
    if newest_id is not None:
        g.newest_release_stamp = (newest_id, label, imported_at)
    return found.user


def load_bearer_user() -> None:
    """Before access is checked: an API request with a bearer token and no cookie at all is
    answered by the token alone, as Flask-Login would answer it (with no session and no
    remember cookie it asks the request loader), without the session steps it takes first
    for a browser. A request with any cookie is left to Flask-Login, which prefers the
    browser's sign-in as ever."""
    if request.cookies or bearer_token() is None or not is_api_request():
        return
    user = _load_from_bearer(request)
    g._login_user = user if user is not None else login_manager.anonymous_user()


def newest_release(session: Session) -> Release | None:
    """The newest release as this request's token statement named it, or ``None`` when no
    token was read (a browser's session, a public view) or no release exists yet: then ask
    ``parts_catalog.services.release_for``. The row is read once per process and kept
    detached (its attributes loaded; nothing in it is ever written)."""
    key: tuple[int, str, datetime] | None = g.get("newest_release_stamp")
    if key is None:
        return None
    release = _releases.get(key)
    if release is None:
        release = session.get(Release, key[0])
        if release is None or (release.id, release.label, release.imported_at) != key:
            return release  # replaced since the token's statement: this request's own row
        session.expunge(release)
        if len(_releases) >= _RELEASES_MAX:
            _releases.clear()
        _releases[key] = release
    return release


def register(manager: LoginManager) -> None:
    # Called rather than applied as decorators: Flask-Login is untyped, and a decorator from it
    # would make the loaders untyped too.
    manager.user_loader(_load_from_session)
    manager.request_loader(_load_from_bearer)
