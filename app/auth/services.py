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
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from app.auth.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    LinkExpired,
    LinkInvalid,
    NotAllowed,
    PasswordReplaced,
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
class ThrottlePolicy:
    window: timedelta
    max_per_account: int
    max_per_address: int


@dataclass(frozen=True)
class SignInAttempt:
    """A sign-in attempt recorded (by :func:`record_attempt`) before its password is checked."""

    id: int
    email: str
    address: str
    at: datetime


def record_attempt(session: Session, *, email: str, address: str) -> SignInAttempt:
    """Record an attempt to sign in, before anything is checked.

    The caller commits it before calling :func:`authenticate`. The throttle counts committed
    attempts, its own included: of any number of attempts racing, the last to commit sees all
    the others, so no more than the limit can ever find themselves within it, whatever the
    concurrency (a count taken before writing lets every racer through).
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
) -> int:
    """Change a password; see :func:`set_password`. This browser stays signed in.

    :raises InvalidCredentials: when ``current`` is wrong, or stopped being the password while
        this request ran.
    :raises WeakPassword: when ``new`` does not meet the policy.
    """
    if not _verify(user.password_hash, current):
        raise InvalidCredentials()
    try:
        return set_password(session, user, new, min_length=min_length, keep_token=user.login_token)
    except PasswordReplaced:
        raise InvalidCredentials() from None


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
    if replaced.rowcount != 1:  # type: ignore[attr-defined]
        raise PasswordReplaced()
    end_other_sessions(session, user, keep_token=keep_token)
    revoked = revoke_api_tokens(session, user)
    session.flush()
    return revoked


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
        raise LinkInvalid(RESET_LINK_USED)
    return user


RESET_LINK_USED = (
    "This password reset link was already used. If you did not change your password, ask for "
    "a new link."
)


def reset_password(session: Session, user: User, password: str, *, min_length: int) -> int:
    """Set the password of the user a reset link named (see :func:`user_for_reset_token`),
    signing them out everywhere; returns how many API tokens were revoked.

    :raises WeakPassword: when ``password`` does not meet the policy.
    :raises LinkInvalid: when the link was used by another request in the meantime.
    """
    try:
        return set_password(session, user, password, min_length=min_length, keep_token=None)
    except PasswordReplaced:
        raise LinkInvalid(RESET_LINK_USED) from None


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
        raise LinkInvalid(INVITATION_USED)
    if invitation.expires_at <= utcnow():
        raise LinkExpired(
            "This invitation has expired. Ask the person who invited you to send a new one."
        )
    return invitation


INVITATION_USED = "This invitation was already used, and its account exists: sign in instead."


def accept_invitation(
    session: Session, *, token: str, name: str, password: str, min_password_length: int
) -> User:
    """Make the account an invitation stands for.

    :raises LinkInvalid: when the invitation is not open, or was accepted by another request in
        the meantime (the database decides: only one acceptance can mark it).
    :raises LinkExpired: when it has expired.
    :raises WeakPassword: when the password does not meet the policy.
    """
    invitation = open_invitation(session, token)
    check_password_policy(password, email=invitation.email, min_length=min_password_length)
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
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkInvalid(INVITATION_USED)
    user = create_user(
        session,
        email=invitation.email,
        name=name or invitation.name,
        role=invitation.role,
        centre=invitation.centre,
        password=password,
        min_password_length=min_password_length,
    )
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


def api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens that still open the API, newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_api_token(session: Session, user: User, token_id: int) -> bool:
    """Revoke one of the user's own tokens; ``False`` if they have no such token open."""
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(revoked.rowcount)  # type: ignore[attr-defined]


def revoke_api_tokens(session: Session, user: User) -> int:
    """Revoke every token of the user; returns how many were open."""
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(revoked.rowcount)  # type: ignore[attr-defined]


def user_for_api_token(session: Session, token: str) -> User | None:
    api_token = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
    )
    if api_token is None or not api_token.user.is_enabled:
        return None
    return api_token.user


#: How stale a token's "last used" may be: at most one write per token per interval, not one
#: per API call.
LAST_USED_PRECISION = timedelta(minutes=1)


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
    )
