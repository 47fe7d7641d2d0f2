"""How Flask-Login finds the user: the sign-in session's token, or an API bearer token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Request, g
from flask_login import LoginManager
from sqlalchemy import select, true
from sqlalchemy.orm import Session, aliased

from app.access import bearer_token, is_api_request
from app.auth import services
from app.auth.models import User
from app.db import get_session, session_factory
from parts_catalog.models import Release

#: When this process last saw each open token's use noted in the database (by the token's
#: digest). It only spares the write of a use noted less than a minute ago: whether the token
#: opens the API is asked of the database on every request, so a revocation holds at once.
_noted: dict[str, datetime | None] = {}
#: Past this many tokens the memory starts again (a few extra writes, nothing else).
_NOTED_MAX = 10_000

#: The newest catalogue release, read by the token's own statement: nearly every API request
#: asks the catalogue "as of the newest", and a statement of its own cost as much as the
#: token's. Outer-joined, so that a token still opens the API before any release exists.
_NEWEST = aliased(
    Release, select(Release).order_by(Release.id.desc()).limit(1).subquery("newest_release")
)
_BEARER: Any = services.OPEN_TOKEN_OWNER.add_columns(_NEWEST).outerjoin(_NEWEST, true())


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
    g.newest_release = found.also[0]
    return found.user


def newest_release(session: Session) -> Release | None:
    """The newest release as this request's token statement read it, or ``None`` when no
    token was read (a browser's session, a public view) or no release exists yet: then ask
    ``parts_catalog.services.release_for``. It is the request's own row (in ``session``),
    read in its transaction: never one kept from an earlier request."""
    release: Release | None = g.get("newest_release")
    return release if release is not None and release in session else None


def register(login_manager: LoginManager) -> None:
    # Called rather than applied as decorators: Flask-Login is untyped, and a decorator from it
    # would make the loaders untyped too.
    login_manager.user_loader(_load_from_session)
    login_manager.request_loader(_load_from_bearer)
