"""Accounts: service centres, users, sign-in sessions, API tokens, invitations, failed sign-ins."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import Base, utcnow
from app.roles import Role


def _role_column() -> Enum:
    # Stored as the value ("centre_manager"), checked by the database, not as a native enum type,
    # so adding a role is an ordinary migration on every backend.
    return Enum(
        Role,
        name="role",
        native_enum=False,
        create_constraint=True,
        length=20,
        validate_strings=True,
        values_callable=lambda roles: [role.value for role in roles],
    )


class ServiceCentre(Base):
    __tablename__ = "service_centres"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Per hour, in the catalogue's currency: repair estimates weigh labour against exchange.
    labour_rate: Mapped[Decimal] = mapped_column(
        Numeric(8, 2), default=Decimal("45.00"), server_default="45.00"
    )

    users: Mapped[list[User]] = relationship(back_populates="centre")

    def __repr__(self) -> str:
        return f"<ServiceCentre {self.name!r}>"


class User(Base):
    """An account. It answers Flask-Login's questions itself (``is_authenticated``,
    ``get_id`` ...), so that this module needs nothing of Flask."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(_role_column())
    centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_centres.id", ondelete="RESTRICT"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    centre: Mapped[ServiceCentre | None] = relationship(back_populates="users")
    login_sessions: Mapped[list[LoginSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def login_token(self) -> str | None:
        """The sign-in session this object was loaded through (not a column).

        Flask-Login keeps it in the cookie instead of the user id, so that ending the session on
        the server ends it for every copy of the cookie.
        """
        token: str | None = self.__dict__.get("_login_token")
        return token

    @login_token.setter
    def login_token(self, token: str | None) -> None:
        self.__dict__["_login_token"] = token

    def get_id(self) -> str | None:
        return self.login_token

    @property
    def is_active(self) -> bool:
        return self.is_enabled

    @property
    def is_authenticated(self) -> bool:
        # A disabled account is signed out wherever it is still loaded (Flask-Login's rule).
        return self.is_enabled

    @property
    def is_anonymous(self) -> bool:
        return False

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.email!r} {self.role.value}>"


class LoginSession(Base):
    """One signed-in browser. Deleting the row signs that browser out, whatever cookie it keeps."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship(back_populates="login_sessions")


class ApiToken(Base):
    """A bearer token for ``/api/v1``; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(_role_column())
    centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_centres.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    centre: Mapped[ServiceCentre | None] = relationship()
    invited_by: Mapped[User | None] = relationship()


class LoginFailure(Base):
    """A sign-in attempt: written before its password is checked (the throttle counts it), kept
    if it fails. A success deletes it, so colleagues cannot lock each other out."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ParkedForm(Base):
    """A form posted after its sender's sign-in had expired, kept until they sign in again and
    come back to it: nothing typed is lost to an expired session."""

    __tablename__ = "parked_forms"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
