"""The accounts' settings as the services receive them: a frozen value built in ``create_app``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.mail.mailer import Mailer


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many sign-in attempts may fail within ``window``, per account and per address."""

    window: timedelta
    max_per_account: int
    max_per_address: int


@dataclass(frozen=True)
class AccountSettings:
    """What the account services need to know of the deployment.

    :param throttle: limits of failed sign-in attempts.
    :param min_password_length: the shortest password accepted.
    :param reset_max_age: how long a password reset link works.
    :param reset_mails_per_hour: reset links mailed to one account per hour, at most.
    :param invitation_max_age: how long an invitation link works.
    :param remember_for: how long "keep me signed in" keeps a browser signed in.
    :param secret_key: signs password reset links.
    :param mail: writes the accounts' mail into the outbox.
    """

    throttle: ThrottlePolicy
    min_password_length: int
    reset_max_age: timedelta
    reset_mails_per_hour: int
    invitation_max_age: timedelta
    remember_for: timedelta
    mail: Mailer
    secret_key: str = field(repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, mail: Mailer) -> AccountSettings:
        """Read the settings from the app's configuration (the names of ``config.py``)."""
        return cls(
            throttle=ThrottlePolicy(
                window=timedelta(minutes=int(config["LOGIN_FAILURE_WINDOW_MINUTES"])),
                max_per_account=int(config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]),
                max_per_address=int(config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
            ),
            min_password_length=int(config["MIN_PASSWORD_LENGTH"]),
            reset_max_age=timedelta(minutes=int(config["PASSWORD_RESET_MAX_AGE_MINUTES"])),
            reset_mails_per_hour=int(config["PASSWORD_RESET_MAILS_PER_HOUR"]),
            invitation_max_age=timedelta(days=int(config["INVITATION_MAX_AGE_DAYS"])),
            remember_for=timedelta(days=int(config["REMEMBER_COOKIE_DURATION_DAYS"])),
            mail=mail,
            secret_key=str(config["SECRET_KEY"]),
        )
