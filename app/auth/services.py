"""Account rules: passwords, sign-in sessions, throttling, resets, invitations and API tokens.

Functions take the request's session, may flush and never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, joinedload

from app.auth.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    LinkExpired,
    LinkInvalid,
    NotAllowed,
    SignInThrottled,
    WeakPassword,
)
from app.auth.models import (
    ApiToken,
    Invitation,
    LoginFailure,
    LoginSession,
    Role,
    ServiceCentre,
    User,
)
from app.models import utcnow

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
CENTRE_ROLES = (Role.TECHNICIAN, Role.CENTRE_MANAGER)
CENTRE_REQUIRED = "Technicians and centre managers belong to a service centre: choose one."


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
    :raises NotAllowed: when a technician or centre manager is given no centre.
    :raises EmailTaken: when the address already has an account.
    :raises WeakPassword: when the password does not meet the policy.
    """
    email = check_email(email)
    if role in CENTRE_ROLES and centre is None:
        raise NotAllowed(CENTRE_REQUIRED)
    if find_user(session, email) is not None:
        raise EmailTaken(email)
    check_password_policy(password, email=email, min_length=min_password_length)
    user = User(
        email=email,
        name=name.strip() or email,
        role=role,
        centre=centre,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class ThrottlePolicy:
    window: timedelta
    max_per_account: int
    max_per_address: int


def _throttle(
    session: Session, *, email: str, address: str, policy: ThrottlePolicy, now: datetime
) -> SignInThrottled | None:
    since = now - policy.window
    for column, value, limit, by_address in (
        (LoginFailure.email, email, policy.max_per_account, False),
        (LoginFailure.address, address, policy.max_per_address, True),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.failed_at)).where(
                column == value, LoginFailure.failed_at > since
            )
        ).one()
        if count >= limit:
            return SignInThrottled(oldest + policy.window, by_address=by_address)
    return None


def authenticate(
    session: Session, *, email: str, password: str, address: str, policy: ThrottlePolicy
) -> User:
    """Check a sign-in. Only failures are recorded, per account and per address.

    :raises SignInThrottled: when too many recent failures name this account or come from this
        address; checked before the password, so guessing stops even when a guess is right.
    :raises InvalidCredentials: for an unknown address, a wrong password or a disabled account.
    """
    now = utcnow()
    email = normalise_email(email)
    throttled = _throttle(session, email=email, address=address, policy=policy, now=now)
    if throttled is not None:
        raise throttled
    user = find_user(session, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        verified = user is not None and user.is_enabled
    except (VerificationError, InvalidHashError):
        verified = False
    if not verified or user is None:
        session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - policy.window))
        session.add(LoginFailure(email=email, address=address, failed_at=now))
        session.flush()
        raise InvalidCredentials()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    # The account's own count restarts; the address's does not, it only ever counts failures.
    session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    user.last_login_at = now
    session.flush()
    return user


def start_login_session(
    session: Session,
    user: User,
    *,
    remember: bool,
    remember_for: timedelta,
    address: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Record a signed-in browser and return the token its cookie will carry.

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


def user_for_login_token(session: Session, token: str) -> User | None:
    """The enabled user signed in by ``token``, or ``None`` once that session has ended."""
    login = session.scalar(
        select(LoginSession)
        .options(joinedload(LoginSession.user).joinedload(User.centre))
        .where(LoginSession.token_hash == token_digest(token))
    )
    if login is None or login.expires_at <= utcnow() or not login.user.is_enabled:
        return None
    login.user.login_token = token
    return login.user


def end_login_session(session: Session, token: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_hash == token_digest(token)))


def end_other_sessions(session: Session, user: User, *, keep_token: str | None) -> None:
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_token is not None:
        query = query.where(LoginSession.token_hash != token_digest(keep_token))
    session.execute(query)


def change_password(
    session: Session, user: User, *, current: str, new: str, min_length: int
) -> None:
    """Change a password; every other signed-in browser of this user is signed out.

    :raises InvalidCredentials: when ``current`` is wrong.
    :raises WeakPassword: when ``new`` does not meet the policy.
    """
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise InvalidCredentials() from None
    set_password(session, user, new, min_length=min_length, keep_token=user.login_token)


def set_password(
    session: Session, user: User, password: str, *, min_length: int, keep_token: str | None
) -> None:
    check_password_policy(password, email=user.email, min_length=min_length)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_other_sessions(session, user, keep_token=keep_token)
    session.flush()


# Password reset links are signed, not stored: they carry the user id and a fingerprint of the
# current password hash, so a link stops working the moment it has been used.
_RESET_SALT = "benchside.password-reset"


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def make_reset_token(secret_key: str, user: User) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_RESET_SALT).dumps(
        {"user": user.id, "fp": _fingerprint(user)}
    )


def user_for_reset_token(session: Session, secret_key: str, token: str, *, max_age: int) -> User:
    """The user a reset link was made for.

    :raises LinkExpired: when the link is older than ``max_age`` seconds.
    :raises LinkInvalid: when the link was altered, already used, or its account is gone.
    """
    serializer = URLSafeTimedSerializer(secret_key, salt=_RESET_SALT)
    try:
        data = serializer.loads(token, max_age=max_age)
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
        raise LinkInvalid(
            "This password reset link has already been used. If you did not change your "
            "password, ask for a new link."
        )
    return user


def may_invite(inviter: User, *, role: Role, centre: ServiceCentre | None) -> bool:
    """Admins invite anyone; a centre manager invites technicians and managers to their centre."""
    if inviter.role is Role.ADMIN:
        return True
    return (
        inviter.role is Role.CENTRE_MANAGER
        and role in (Role.TECHNICIAN, Role.CENTRE_MANAGER)
        and centre is not None
        and centre.id == inviter.centre_id
    )


def invitable_roles(inviter: User) -> list[Role]:
    if inviter.role is Role.ADMIN:
        return list(Role)
    if inviter.role is Role.CENTRE_MANAGER:
        return [Role.TECHNICIAN, Role.CENTRE_MANAGER]
    return []


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
    """Invite someone; returns the invitation and the token for its link.

    An earlier open invitation to the same address is revoked, so only the newest link works.

    :raises NotAllowed: when the inviter may not give this role or centre.
    :raises EmailTaken: when the address already has an account.
    """
    email = check_email(email)
    if not may_invite(inviter, role=role, centre=centre):
        raise NotAllowed("You may not invite someone with that role to that service centre.")
    if role in CENTRE_ROLES and centre is None:
        raise NotAllowed(CENTRE_REQUIRED)
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
        raise LinkInvalid("This invitation has already been accepted: sign in instead.")
    if invitation.expires_at <= utcnow():
        raise LinkExpired(
            "This invitation has expired. Ask the person who invited you to send a new one."
        )
    return invitation


def accept_invitation(
    session: Session, *, token: str, name: str, password: str, min_password_length: int
) -> User:
    invitation = open_invitation(session, token)
    user = create_user(
        session,
        email=invitation.email,
        name=name or invitation.name,
        role=invitation.role,
        centre=invitation.centre,
        password=password,
        min_password_length=min_password_length,
    )
    invitation.accepted_at = utcnow()
    session.flush()
    return user


def revoke_invitation(session: Session, invitation: Invitation, *, by: User) -> None:
    if not may_invite(by, role=invitation.role, centre=invitation.centre):
        raise NotAllowed("You may not revoke this invitation.")
    invitation.revoked_at = utcnow()
    session.flush()


def issue_api_token(session: Session, user: User) -> str:
    """Create a bearer token for the API; only its digest is kept, so print it now or never."""
    token = f"bs_{secrets.token_urlsafe(32)}"
    session.add(ApiToken(user=user, token_hash=token_digest(token)))
    session.flush()
    return token


def user_for_api_token(session: Session, token: str) -> User | None:
    api_token = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
    )
    if api_token is None or not api_token.user.is_enabled:
        return None
    return api_token.user
