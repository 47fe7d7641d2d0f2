"""Forms posted after the sender's sign-in expired: kept on the server, handed back once they
have signed in again, so that an expired session never costs what was typed."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.auth.models import ParkedForm
from app.storable import CONTROL
from parts_catalog.sqltypes import utcnow

KEPT_FOR = timedelta(days=1)
#: The signed session cookie's note of who signed in last (set at sign-in, kept after expiry).
ACCOUNT_KEY = "account"
_OWNER = "__owner"
MAX_FIELDS = 50
MAX_VALUE = 20_000
#: Fields never kept: the token belongs to the expired session, and a password is never stored.
SKIPPED = frozenset({"csrf_token", "password"})


def park(session: Session, path: str, form: Mapping[str, str], owner: int) -> str:
    """Keep a posted form's fields for the account ``owner`` (the one whose sign-in expired);
    returns the token that claims them. Of a field posted several times, ``form`` gives one
    value (a ``MultiDict`` gives the first)."""
    data: dict[str, object] = {
        name: CONTROL.sub("", value)[:MAX_VALUE]
        for name, value in list(form.items())[:MAX_FIELDS]
        if name not in SKIPPED and not name.startswith("__")
    }
    data[_OWNER] = owner
    token = secrets.token_urlsafe(24)
    session.add(ParkedForm(token=token, path=path[:200], data=data, created_at=utcnow()))
    # Forms nobody came back for are forgotten.
    session.execute(delete(ParkedForm).where(ParkedForm.created_at < utcnow() - KEPT_FOR))
    return token


def claim(session: Session, token: str, path: str, user_id: int) -> dict[str, str] | None:
    """The fields parked under ``token`` for ``path``, once, for the account they were typed
    in: claiming forgets them."""
    parked = session.get(ParkedForm, token[:64])
    if parked is None or parked.path != path or parked.created_at < utcnow() - KEPT_FOR:
        return None
    data = dict(parked.data)
    if data.pop(_OWNER, None) != user_id:
        return None  # someone else signed in on that browser: it stays for its owner
    session.delete(parked)
    return {k: str(v) for k, v in data.items()}
