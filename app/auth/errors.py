"""What can go wrong with accounts; each message is fit to show to the person."""

from __future__ import annotations

from datetime import datetime


class AccountError(Exception):
    """Base of the account errors; ``str(exc)`` is the message to show."""


class InvalidCredentials(AccountError):
    def __init__(self) -> None:
        # One message whether or not the account exists, so sign-in cannot be used to probe.
        super().__init__("That email address and password do not match an account.")


class SignInThrottled(AccountError):
    def __init__(self, retry_at: datetime) -> None:
        self.retry_at = retry_at
        super().__init__(
            "Too many failed sign-in attempts. Try again after "
            f"{retry_at:%H:%M} UTC, or reset your password."
        )


class EmailTaken(AccountError):
    def __init__(self, email: str) -> None:
        super().__init__(f"There is already an account for {email}.")


class WeakPassword(AccountError):
    pass


class LinkExpired(AccountError):
    pass


class LinkInvalid(AccountError):
    pass


class NotAllowed(AccountError):
    pass
