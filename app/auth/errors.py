"""What can go wrong with accounts; each message is fit to show to the person.

Every error is an :class:`~app.exceptions.AppError`: it carries its HTTP status, and whatever a
view does not catch to re-render its form is answered once, in ``app.errors``.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from app import exceptions


class AccountError(exceptions.AppError):
    """Base of the account errors; ``str(exc)`` (and ``exc.message``) is the message to show."""


class InvalidCredentials(AccountError, exceptions.Invalid):
    def __init__(self) -> None:
        # One message whether or not the account exists, so sign-in cannot be used to probe.
        super().__init__("That email address and password do not match an account.")


class SignInThrottled(AccountError):
    status: ClassVar[int] = 429

    def __init__(self, retry_at: datetime, *, by_address: bool) -> None:
        self.retry_at = retry_at
        if by_address:
            advice = "Too many failed sign-in attempts from your network"
            after = "If this keeps happening, tell your administrator."
        else:
            advice = "Too many failed sign-in attempts for this account"
            after = "Or reset your password."
        super().__init__(f"{advice}. Try again after {retry_at:%H:%M} UTC. {after}")


class InvalidEmail(AccountError, exceptions.Invalid):
    pass


class EmailTaken(AccountError, exceptions.Conflict):
    def __init__(self, email: str) -> None:
        super().__init__(f"There is already an account for {email}.")


class WeakPassword(AccountError, exceptions.Invalid):
    pass


class CentreRequired(AccountError, exceptions.Invalid):
    def __init__(self) -> None:
        super().__init__("Technicians and centre managers belong to a service centre: choose one.")


class CentreExists(AccountError, exceptions.Conflict):
    def __init__(self) -> None:
        super().__init__("A service centre with this name exists already.")


class LinkProblem(AccountError):
    """A reset or invitation link that cannot be used (any more): gone, for this link."""

    status: ClassVar[int] = 410


class LinkExpired(LinkProblem):
    pass


class LinkInvalid(LinkProblem):
    pass


class NotAllowed(AccountError, exceptions.NotAllowed):
    pass


class NotFound(AccountError, exceptions.NotFound):
    """Nothing of that id, or nothing this person may act on (said the same way)."""


class PasswordReplaced(AccountError, exceptions.Conflict):
    def __init__(self) -> None:
        super().__init__("The password was changed by another request in the meantime.")
