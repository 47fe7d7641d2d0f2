"""Accounts' use cases: sign-in (throttled), sign-in sessions, passwords and their resets,
invitations, the people pages, service centres and API tokens.

Flask-free: functions take a session, may flush and never commit (the caller's transaction is
the unit: a request's commit point, or a command's ``begin()``). They take the acting ``User``
row, never the request's proxy, and the accounts' settings as a frozen value; the mail they owe
(invitation, reset link, "your password was changed") is written to the outbox in the caller's
transaction. Who may do what is asked of :mod:`app.auth.policy`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import (
    CursorResult,
    Executable,
    Row,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.auth import policy
from app.auth.errors import (
    CentreExists,
    CentreRequired,
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    LinkExpired,
    LinkInvalid,
    NotAllowed,
    NotFound,
    PasswordReplaced,
    SignInThrottled,
    WeakPassword,
)
from app.auth.models import (
    ApiToken,
    Invitation,
    LoginFailure,
    LoginSession,
    ServiceCentre,
    User,
)
from app.auth.settings import AccountSettings, ThrottlePolicy
from app.mail.outbox import sent_recently
from app.models import attach_row, row_columns, utcnow
from app.roles import Role

__all__ = ["AccountSettings", "ThrottlePolicy"]  # re-exported: callers name them from here

_hasher = PasswordHasher()
# Verifying against this when the account does not exist keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def configure_password_hashing(*, time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Set Argon2id's cost for every hash this process makes from now on (``create_app`` does,
    from the settings). Hashes made at another cost still verify, and are re-hashed at sign-in."""
    global _hasher, _DUMMY_HASH
    if (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism) == (
        time_cost,
        memory_kib,
        parallelism,
    ):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


SESSION_LIFETIME = timedelta(hours=12)


def _rowcount(result: object) -> int:
    """Rows an UPDATE or DELETE matched (``Session.execute`` is typed as returning rows)."""
    return cast("CursorResult[Any]", result).rowcount


def normalise_email(email: str) -> str:
    return email.strip().lower()


def token_digest(token: str) -> str:
    """SHA-256 of a random token; tokens carry enough entropy that a slow hash adds nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str, *, email: str, min_length: int) -> None:
    if len(password) < min_length:
        raise WeakPassword(f"Use at least {min_length} characters.")
    if password.strip().lower() == normalise_email(email):
        raise WeakPassword("Do not use your email address as your password.")


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def find_centre(session: Session, name: str) -> ServiceCentre | None:
    """The centre of that name, in any case: "northside" and "Northside" are one centre."""
    return session.scalar(
        select(ServiceCentre).where(func.lower(ServiceCentre.name) == name.strip().lower())
    )


def check_email(email: str) -> str:
    """The address, normalised, if it is well-formed.

    :raises InvalidEmail: otherwise, with the validator's reason.
    """
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidEmail(f"{email.strip()} is not a usable email address: {exc}") from None


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
    centre: ServiceCentre | None = None,
    min_password_length: int = 10,
) -> User:
    """Create an account.

    :raises InvalidEmail: when the address is not well-formed.
    :raises CentreRequired: when a technician or centre manager is given no centre.
    :raises EmailTaken: when the address already has an account.
    :raises WeakPassword: when the password does not meet the policy.
    """
    email = check_email(email)
    if policy.needs_centre(role) and centre is None:
        raise CentreRequired()
    if find_user(session, email) is not None:
        raise EmailTaken(email)
    check_password_policy(password, email=email, min_length=min_password_length)
    password_hash = hash_password(password)
    try:
        # The look-up above cannot see an account another request is making at this moment:
        # the unique address decides, and the loser is told as if it had seen it.
        with session.begin_nested():
            user = User(
                email=email,
                name=name.strip() or email,
                role=role,
                centre=centre,
                password_hash=password_hash,
            )
            session.add(user)
    except IntegrityError:
        raise EmailTaken(email) from None
    return user


@dataclass(frozen=True)
class SignInAttempt:
    """A sign-in attempt recorded (by :func:`record_attempt`) before its password is checked."""

    id: int
    email: str
    address: str
    at: datetime


def record_attempt(session: Session, *, email: str, address: str) -> SignInAttempt:
    """Record an attempt to sign in, before anything is checked.

    The caller commits it before calling :func:`authenticate` (or :func:`sign_in`): the one
    commit inside a request, which the sign-in view makes and
    ``tests/web/test_auth_races.py::test_parallel_guesses_check_at_most_the_limit`` holds it
    to. The throttle counts committed attempts, its own included: of any number of attempts
    racing, the last to commit sees all the others, so no more than the limit can ever find
    themselves within it, whatever the concurrency (a count taken before writing lets every
    racer through).
    """
    now = utcnow()
    row = LoginFailure(email=normalise_email(email), address=address, failed_at=now)
    session.add(row)
    session.flush()
    return SignInAttempt(id=row.id, email=row.email, address=address, at=now)


def _throttle(
    session: Session, attempt: SignInAttempt, policy: ThrottlePolicy
) -> SignInThrottled | None:
    since = attempt.at - policy.window
    for column, value, limit, by_address in (
        (LoginFailure.email, attempt.email, policy.max_per_account, False),
        (LoginFailure.address, attempt.address, policy.max_per_address, True),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.failed_at)).where(
                column == value, LoginFailure.failed_at > since
            )
        ).one()
        if count > limit:  # the count includes this attempt
            return SignInThrottled(oldest + policy.window, by_address=by_address)
    return None


def authenticate(
    session: Session, attempt: SignInAttempt, *, password: str, policy: ThrottlePolicy
) -> User:
    """Check a recorded sign-in attempt. Only failures stay recorded, per account and address.

    :raises SignInThrottled: when this attempt is beyond the limit of recent attempts naming
        this account or coming from this address; decided before the password is looked at, so
        guessing stops even when a guess is right. The refused attempt is not kept.
    :raises InvalidCredentials: for an unknown address, a wrong password or a disabled account;
        the attempt stays recorded as a failure.
    """
    throttled = _throttle(session, attempt, policy)
    if throttled is not None:
        session.execute(delete(LoginFailure).where(LoginFailure.id == attempt.id))
        raise throttled
    user = find_user(session, attempt.email)
    verified = _verify(user.password_hash if user else _DUMMY_HASH, password)
    if not verified or user is None or not user.is_enabled:
        expired = LoginFailure.failed_at <= attempt.at - policy.window
        session.execute(delete(LoginFailure).where(expired))
        raise InvalidCredentials()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    # The account's own count restarts (this attempt with it); the address's does not, it only
    # ever counts failures.
    session.execute(delete(LoginFailure).where(LoginFailure.email == attempt.email))
    user.last_login_at = attempt.at
    session.flush()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_matches(user: User, password: str) -> bool:
    return _verify(user.password_hash, password)


@dataclass(frozen=True)
class Browser:
    """The browser a sign-in session is started for (what the account page lists)."""

    remember: bool = False
    address: str | None = None
    user_agent: str | None = None


def start_login_session(
    session: Session,
    user: User,
    *,
    remember: bool,
    remember_for: timedelta,
    address: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Record a signed-in browser and return the token its cookie will carry (also set as
    ``user.login_token``).

    Sessions that have expired (anyone's) are deleted on the way: they can never be used again.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    session.add(
        LoginSession(
            token_hash=token_digest(token),
            user=user,
            remember=remember,
            created_at=now,
            last_seen_at=now,
            expires_at=now + (remember_for if remember else SESSION_LIFETIME),
            address=address,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    session.flush()
    user.login_token = token
    return token


def sign_in(
    session: Session,
    attempt: SignInAttempt,
    *,
    password: str,
    browser: Browser,
    settings: AccountSettings,
) -> User:
    """Check a recorded (and committed) attempt and sign its account in on ``browser``.

    Returns the user, whose ``login_token`` is the new sign-in session's. Raises as
    :func:`authenticate` does; the attempt's record must then be kept (committed) although the
    answer is a refusal.
    """
    user = authenticate(session, attempt, password=password, policy=settings.throttle)
    _start(session, user, browser, settings)
    return user


def _start(session: Session, user: User, browser: Browser, settings: AccountSettings) -> None:
    start_login_session(
        session,
        user,
        remember=browser.remember,
        remember_for=settings.remember_for,
        address=browser.address,
        user_agent=browser.user_agent,
    )


#: Asked on every page request: built once, as building a statement costs about as much as
#: running it on an indexed column. Columns rather than entities: the rows become objects by
#: ``attach_row``, which costs less than the ORM's loading of a joined row.
_USER_COLUMNS = row_columns(User)
_CENTRE_COLUMNS = row_columns(ServiceCentre)
_SIGNED_IN_BY = (
    select(LoginSession.expires_at, *_USER_COLUMNS, *_CENTRE_COLUMNS)
    .join(User, User.id == LoginSession.user_id)
    .outerjoin(ServiceCentre, ServiceCentre.id == User.centre_id)
    .where(LoginSession.token_hash == bindparam("digest"))
)


def _read_row(session: Session, statement: Executable, digest: str) -> Row[Any] | None:
    """The one row ``statement`` finds for ``digest``, read as Core reads it (no ORM result
    handling), after the session's pending changes are flushed as the ORM's own read would
    (autoflush): a user disabled earlier in the same unit of work is seen disabled."""
    if session.autoflush:
        session.flush()  # nothing to do, and nearly free, when nothing is pending
    return session.connection().execute(statement, {"digest": digest}).one_or_none()


def _user_of(session: Session, row: Sequence[Any], *, with_centre: bool) -> User:
    """The user in ``row`` (its columns, in ``row_columns`` order, first), with its centre when
    the centre's columns follow."""
    user = attach_row(session, User, row[: len(_USER_COLUMNS)])
    if with_centre:
        centre_row = row[len(_USER_COLUMNS) : len(_USER_COLUMNS) + len(_CENTRE_COLUMNS)]
        centre = attach_row(session, ServiceCentre, centre_row) if user.centre_id else None
        set_committed_value(user, "centre", centre)
    return user


def user_for_login_token(session: Session, token: str) -> User | None:
    """The enabled user signed in by ``token``, or ``None`` once that session has ended."""
    row = _read_row(session, _SIGNED_IN_BY, token_digest(token))
    if row is None or row[0] <= utcnow():
        return None
    user = _user_of(session, row[1:], with_centre=True)
    if not user.is_enabled:
        return None
    user.login_token = token
    return user


def end_login_session(session: Session, token: str) -> None:
    """Sign out the browser whose cookie carries ``token`` (every copy of that cookie)."""
    session.execute(delete(LoginSession).where(LoginSession.token_hash == token_digest(token)))


def end_other_sessions(session: Session, user: User, *, keep_token: str | None) -> None:
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_token is not None:
        query = query.where(LoginSession.token_hash != token_digest(keep_token))
    session.execute(query)


def change_password(
    session: Session, user: User, *, current: str, new: str, settings: AccountSettings
) -> int:
    """Change a password, and tell its owner by mail; see :func:`set_password`. The browser
    ``user`` was loaded through stays signed in. Returns how many API tokens were revoked.

    :raises InvalidCredentials: when ``current`` is wrong, or stopped being the password while
        this request ran.
    :raises WeakPassword: when ``new`` does not meet the policy.
    """
    if not _verify(user.password_hash, current):
        raise InvalidCredentials()
    try:
        revoked = set_password(
            session,
            user,
            new,
            min_length=settings.min_password_length,
            keep_token=user.login_token,
        )
    except PasswordReplaced:
        raise InvalidCredentials() from None
    _tell_password_changed(session, user, revoked, settings)
    return revoked


def set_password(
    session: Session, user: User, password: str, *, min_length: int, keep_token: str | None
) -> int:
    """Replace the password ``user`` was loaded with; whoever knew the old one is shut out.

    Every sign-in session but ``keep_token``'s ends and every API token is revoked: a token
    made by someone who had the password would otherwise outlive its change. Returns how many
    tokens were revoked.

    :raises WeakPassword: when ``password`` does not meet the policy.
    :raises PasswordReplaced: when another request changed the password first (the database
        decides: only one change can replace a given password).
    """
    check_password_policy(password, email=user.email, min_length=min_length)
    now = utcnow()
    replaced = session.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == user.password_hash)
        .values(password_hash=hash_password(password), password_changed_at=now)
    )
    if _rowcount(replaced) != 1:
        raise PasswordReplaced()
    end_other_sessions(session, user, keep_token=keep_token)
    revoked = revoke_api_tokens(session, user)
    session.flush()
    return revoked


PASSWORD_CHANGED_SUBJECT = "Your Benchside password was changed"  # nosec B105  # a subject


def _tell_password_changed(
    session: Session, user: User, revoked: int, settings: AccountSettings
) -> None:
    # The mail reaches the owner if it was not them: the one warning a thief cannot click away.
    mail = settings.mail
    mail.queue(
        session,
        to=user.email,
        subject=PASSWORD_CHANGED_SUBJECT,
        template="password_changed",
        user=user,
        when=utcnow(),
        revoked=revoked,
        account_link=mail.link("auth.account"),
        forgot_link=mail.link("auth.forgot_password"),
    )


# Password reset links are signed, not stored: they carry the user id and a fingerprint of the
# current password hash, so a link stops working the moment it has been used.
_RESET_SALT = "benchside.password-reset"
RESET_SUBJECT = "Reset your Benchside password"


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def make_reset_token(secret_key: str, user: User) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_RESET_SALT).dumps(
        {"user": user.id, "fp": _fingerprint(user)}
    )


def request_password_reset(session: Session, email: str, *, settings: AccountSettings) -> None:
    """Mail a reset link to ``email`` if it names an enabled account, at most
    ``settings.reset_mails_per_hour`` an hour (the form must not become a way to flood a
    mailbox). Says nothing either way, so that it cannot tell who has an account."""
    user = find_user(session, email)
    if user is None or not user.is_enabled:
        return
    since = utcnow() - timedelta(hours=1)
    if sent_recently(session, to=user.email, subject=RESET_SUBJECT, since=since) >= (
        settings.reset_mails_per_hour
    ):
        return
    token = make_reset_token(settings.secret_key, user)
    settings.mail.queue(
        session,
        to=user.email,
        subject=RESET_SUBJECT,
        template="password_reset",
        user=user,
        link=settings.mail.link("auth.reset_password", token=token),
        minutes=int(settings.reset_max_age.total_seconds() // 60),
    )


def user_for_reset_token(session: Session, token: str, *, settings: AccountSettings) -> User:
    """The user a reset link was made for.

    :raises LinkExpired: when the link is older than ``settings.reset_max_age``.
    :raises LinkInvalid: when the link was altered, already used, or its account is gone.
    """
    serializer = URLSafeTimedSerializer(settings.secret_key, salt=_RESET_SALT)
    try:
        data = serializer.loads(token, max_age=int(settings.reset_max_age.total_seconds()))
    except SignatureExpired:
        raise LinkExpired(
            "This password reset link has expired. Ask for a new one below."
        ) from None
    except BadSignature:
        raise LinkInvalid(
            "This password reset link is not valid. Check that the whole link was copied, "
            "or ask for a new one."
        ) from None
    user = session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or not user.is_enabled:
        raise LinkInvalid("This password reset link is not valid any more. Ask for a new one.")
    if data.get("fp") != _fingerprint(user):
        raise LinkInvalid(RESET_LINK_USED)
    return user


RESET_LINK_USED = (
    "This password reset link was already used. If you did not change your password, ask for "
    "a new link."
)


def reset_password(
    session: Session, user: User, password: str, *, settings: AccountSettings
) -> int:
    """Set the password of the user a reset link named (see :func:`user_for_reset_token`),
    signing them out everywhere, and tell them by mail; returns how many API tokens were
    revoked.

    :raises WeakPassword: when ``password`` does not meet the policy.
    :raises LinkInvalid: when the link was used by another request in the meantime.
    """
    try:
        revoked = set_password(
            session, user, password, min_length=settings.min_password_length, keep_token=None
        )
    except PasswordReplaced:
        raise LinkInvalid(RESET_LINK_USED) from None
    _tell_password_changed(session, user, revoked, settings)
    return revoked


def invite(
    session: Session,
    *,
    inviter: User,
    email: str,
    name: str,
    role: Role,
    centre: ServiceCentre | None,
    valid_for: timedelta,
) -> tuple[Invitation, str]:
    """Make an invitation (no mail: see :func:`send_invitation`); returns it and the token for
    its link.

    An earlier open invitation to the same address is revoked, so only the newest link works.

    :raises NotAllowed: when the inviter may not give this role or centre.
    :raises CentreRequired: when a technician or centre manager is given no centre.
    :raises EmailTaken: when the address already has an account.
    """
    email = check_email(email)
    centre_id = centre.id if centre is not None else None
    if not policy.may_invite(inviter, role=role, centre_id=centre_id):
        raise NotAllowed("You may not invite someone with that role to that service centre.")
    if policy.needs_centre(role) and centre is None:
        raise CentreRequired()
    if find_user(session, email) is not None:
        raise EmailTaken(email)
    now = utcnow()
    for earlier in session.scalars(
        select(Invitation).where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ):
        earlier.revoked_at = now
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email,
        name=name.strip(),
        role=role,
        centre=centre,
        token_hash=token_digest(token),
        invited_by=inviter,
        created_at=now,
        expires_at=now + valid_for,
    )
    session.add(invitation)
    session.flush()
    return invitation, token


INVITATION_SUBJECT = "You are invited to Benchside"


def send_invitation(
    session: Session,
    *,
    inviter: User,
    email: str,
    name: str,
    role: Role,
    centre_id: int | None,
    settings: AccountSettings,
) -> Invitation:
    """Invite someone and mail them the link (see :func:`invite`).

    :raises NotAllowed: also when ``centre_id`` names no centre the inviter may invite to.
    """
    centre = session.get(ServiceCentre, centre_id) if centre_id else None
    if centre_id and centre is None:
        raise NotAllowed("You may not invite someone with that role to that service centre.")
    invitation, token = invite(
        session,
        inviter=inviter,
        email=email,
        name=name,
        role=role,
        centre=centre,
        valid_for=settings.invitation_max_age,
    )
    settings.mail.queue(
        session,
        to=invitation.email,
        subject=INVITATION_SUBJECT,
        template="invitation",
        invitation=invitation,
        inviter=inviter,
        link=settings.mail.link("auth.accept_invitation", token=token),
    )
    return invitation


def open_invitation(session: Session, token: str) -> Invitation:
    """The invitation a link stands for, if it can still be accepted.

    :raises LinkInvalid: for an unknown, revoked or already accepted invitation.
    :raises LinkExpired: for an expired one.
    """
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_hash == token_digest(token))
    )
    if invitation is None or invitation.revoked_at is not None:
        raise LinkInvalid(
            "This invitation link is not valid (it may have been replaced by a newer one). "
            "Ask the person who invited you to send it again."
        )
    if invitation.accepted_at is not None:
        raise LinkInvalid(INVITATION_USED)
    if invitation.expires_at <= utcnow():
        raise LinkExpired(
            "This invitation has expired. Ask the person who invited you to send a new one."
        )
    return invitation


INVITATION_USED = "This invitation was already used, and its account exists: sign in instead."


def accept_invitation(
    session: Session,
    *,
    token: str,
    name: str,
    password: str,
    browser: Browser,
    settings: AccountSettings,
) -> User:
    """Make the account an invitation stands for, and sign it in on ``browser`` (the user's
    ``login_token`` is the new sign-in session's).

    :raises LinkInvalid: when the invitation is not open, or was accepted by another request in
        the meantime (the database decides: only one acceptance can mark it).
    :raises LinkExpired: when it has expired.
    :raises WeakPassword: when the password does not meet the policy.
    """
    invitation = open_invitation(session, token)
    min_length = settings.min_password_length
    check_password_policy(password, email=invitation.email, min_length=min_length)
    now = utcnow()
    claimed = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
    )
    if _rowcount(claimed) != 1:
        raise LinkInvalid(INVITATION_USED)
    user = create_user(
        session,
        email=invitation.email,
        name=name or invitation.name,
        role=invitation.role,
        centre=invitation.centre,
        password=password,
        min_password_length=min_length,
    )
    session.flush()
    _start(session, user, browser, settings)
    return user


@dataclass(frozen=True)
class People:
    """What the people page shows its viewer: accounts, and invitations still open."""

    users: Sequence[User]
    invitations: Sequence[Invitation]


def people(session: Session, viewer: User) -> People:
    """The accounts and open invitations ``viewer`` manages (see :func:`policy.managed_centre`).

    :raises NotAllowed: when the viewer manages nobody (e.g. a manager of no centre).
    """
    scope = policy.managed_centre(viewer)
    if scope is None:
        raise NotAllowed(
            "You manage no service centre, so there is nobody here for you to manage. Ask an "
            "administrator to add you to your centre."
        )
    user_query = select(User).options(selectinload(User.centre)).order_by(User.name)
    invitation_query = (
        select(Invitation)
        .options(selectinload(Invitation.centre), selectinload(Invitation.invited_by))
        .where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc())
    )
    if scope is not policy.EVERYONE:
        user_query = user_query.where(User.centre_id == scope)
        invitation_query = invitation_query.where(Invitation.centre_id == scope)
    return People(
        users=session.scalars(user_query).all(),
        invitations=session.scalars(invitation_query).all(),
    )


def invitable_centres(session: Session, inviter: User) -> list[ServiceCentre]:
    """The centres ``inviter`` may invite people to, by name."""
    scope = policy.managed_centre(inviter)
    if scope is policy.EVERYONE:
        return list(session.scalars(select(ServiceCentre).order_by(ServiceCentre.name)))
    centre = inviter.centre
    return [centre] if centre is not None and centre.id == scope else []


def revoke_invitation(session: Session, invitation_id: int, *, by: User) -> Invitation:
    """Withdraw an open invitation: its link stops working.

    :raises NotFound: when there is no such invitation among those ``by`` manages.
    :raises NotAllowed: when ``by`` sees it but may not withdraw it (a role they may not give).
    """
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or not policy.may_see_invitation(by, centre_id=invitation.centre_id):
        raise NotFound("There is no such invitation among those you manage.")
    if not policy.may_revoke_invitation(by, role=invitation.role, centre_id=invitation.centre_id):
        raise NotAllowed("You may not revoke this invitation.")
    invitation.revoked_at = utcnow()
    session.flush()
    return invitation


def toggle_enabled(session: Session, user_id: int, *, by: User) -> User:
    """Enable a disabled account, or disable an enabled one and sign it out everywhere.

    :raises NotFound: when there is no such account.
    :raises NotAllowed: when ``by`` may not (not an admin, or their own account).
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such account.")
    if not policy.may_set_enabled(by, user):
        if user.id == by.id:
            raise NotAllowed("You cannot disable your own account.")
        raise NotAllowed("Only administrators enable and disable accounts.")
    user.is_enabled = not user.is_enabled
    if not user.is_enabled:
        end_other_sessions(session, user, keep_token=None)
    session.flush()
    return user


def centres(session: Session) -> Sequence[ServiceCentre]:
    """Every service centre, by name, with its people loaded."""
    return session.scalars(
        select(ServiceCentre)
        .options(selectinload(ServiceCentre.users))
        .order_by(ServiceCentre.name)
    ).all()


def add_centre(session: Session, name: str, *, by: User) -> ServiceCentre:
    """Add a service centre.

    :raises NotAllowed: when ``by`` is not an admin.
    :raises CentreExists: when a centre of that name exists, in any case.
    """
    if not policy.may_manage_centres(by):
        raise NotAllowed("Only administrators add service centres.")
    name = name.strip()
    if find_centre(session, name) is not None:
        raise CentreExists()
    centre = ServiceCentre(name=name)
    session.add(centre)
    session.flush()
    return centre


def issue_api_token(session: Session, user: User) -> str:
    """Create a bearer token for the API; only its digest is kept, so print it now or never."""
    token = f"bs_{secrets.token_urlsafe(32)}"
    session.add(ApiToken(user=user, token_hash=token_digest(token)))
    session.flush()
    return token


def api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens that still open the API, newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    """Revoke one of the user's own open tokens.

    :raises NotFound: when they have no such token open (someone else's says the same).
    """
    token = session.get(ApiToken, token_id)
    if token is None or not policy.owns_token(user, owner_id=token.user_id):
        raise NotFound("You have no such API token.")
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if not _rowcount(revoked):
        raise NotFound("That API token was revoked already.")


def revoke_api_tokens(session: Session, user: User) -> int:
    """Revoke every token of the user; returns how many were open."""
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return _rowcount(revoked)


@dataclass(frozen=True)
class ApiTokenUse:
    """Who an open API token belongs to, when its use was last noted, and what else the
    statement read beside it (``also``: see :data:`OPEN_TOKEN_OWNER`)."""

    user: User
    last_used_at: datetime | None
    also: tuple[Any, ...] = ()


#: Asked on every API request: built once (see ``_SIGNED_IN_BY``). A caller may add columns that
#: every request needs too (one round trip instead of two), and pass the result to
#: :func:`user_for_api_token`.
OPEN_TOKEN_OWNER = (
    select(*_USER_COLUMNS, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("digest"),
        ApiToken.revoked_at.is_(None),
        User.is_enabled.is_(True),
    )
)


def user_for_api_token(
    session: Session, token: str, *, statement: Executable = OPEN_TOKEN_OWNER
) -> ApiTokenUse | None:
    """The enabled user an open ``token`` belongs to, or ``None`` (unknown, revoked, or its
    owner disabled): one statement, asked on every request, so a revocation holds at once.
    ``statement`` is :data:`OPEN_TOKEN_OWNER`, or it with more columns read beside it."""
    row = _read_row(session, statement, token_digest(token))
    if row is None:
        return None
    width = len(_USER_COLUMNS)
    return ApiTokenUse(
        user=_user_of(session, row, with_centre=False),
        last_used_at=row[width],
        also=tuple(row[width + 1 :]),
    )


#: How stale a token's "last used" may be: at most one write per token per interval, not one
#: per API call.
LAST_USED_PRECISION = timedelta(minutes=1)


def use_is_stale(last_used_at: datetime | None, *, now: datetime | None = None) -> bool:
    """Whether a token last noted at ``last_used_at`` is due to be noted again."""
    return last_used_at is None or last_used_at <= (now or utcnow()) - LAST_USED_PRECISION


def note_api_token_use(session: Session, token: str) -> None:
    """Record that ``token`` was presented (if it is open), to the minute."""
    now = utcnow()
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.token_hash == token_digest(token),
            ApiToken.revoked_at.is_(None),
            or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at <= now - LAST_USED_PRECISION,
            ),
        )
        .values(last_used_at=now)
        # No token object is loaded in this session to keep in step: skip the ORM's search.
        .execution_options(synchronize_session=False)
    )
