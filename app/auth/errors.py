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
    def __init__(self, retry_at: datetime, *, by_address: bool) -> None:
        self.retry_at = retry_at
        if by_address:
            advice = "Too many failed sign-in attempts from your network"
            after = "If this keeps happening, tell your administrator."
        else:
            advice = "Too many failed sign-in attempts for this account"
            after = "Or reset your password."
        super().__init__(f"{advice}. Try again after {retry_at:%H:%M} UTC. {after}")


class InvalidEmail(AccountError):
    pass


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


class PasswordReplaced(AccountError):
    def __init__(self) -> None:
        super().__init__("The password was changed by another request in the meantime.")
