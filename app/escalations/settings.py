"""The escalations' settings as the services receive them: a frozen value built once in
``create_app`` from the configuration (the names of ``config.py``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from app.escalations.sla import Calendar, parse_days, parse_holidays
from app.mail.mailer import Mailer


@dataclass(frozen=True)
class EscalationSettings:
    """What the escalation services need to know of the deployment.

    :param calendar: business hours, days, holidays and time zone of the response targets.
    :param first_response: working time to the first response, per priority.
    :param resolution: working time to the resolution, per priority.
    :param categories: what a ticket may be about (``ESCALATION_CATEGORIES``).
    :param address: the escalation mail address; replies go to it with a signed ``+tag``.
    :param attachment_max_bytes: the largest file sent with an escalation.
    :param reminder_lead: how long before a target the assignee is reminded (working time).
    :param upload_dir: where files from before migration 0015 are kept.
    :param mail: writes the escalations' mail into the outbox.
    :param secret_key: signs reply addresses.
    """

    calendar: Calendar
    first_response: Mapping[str, timedelta]
    resolution: Mapping[str, timedelta]
    categories: tuple[str, ...]
    address: str
    attachment_max_bytes: int
    reminder_lead: timedelta
    upload_dir: Path
    mail: Mailer
    secret_key: str = field(repr=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, mail: Mailer) -> EscalationSettings:
        """Read the settings from the app's configuration."""
        opens, _, closes = str(config["BUSINESS_HOURS"]).partition("-")
        return cls(
            calendar=Calendar(
                zone=str(config["BUSINESS_TIMEZONE"]),
                opens=time.fromisoformat(opens.strip()),
                closes=time.fromisoformat(closes.strip()),
                weekdays=parse_days(str(config["BUSINESS_DAYS"]).split(",")),
                holidays=parse_holidays(str(config["BUSINESS_HOLIDAYS"])),
            ),
            first_response={
                str(k): timedelta(hours=int(v)) for k, v in config["FIRST_RESPONSE_HOURS"].items()
            },
            resolution={
                str(k): timedelta(hours=int(v)) for k, v in config["RESOLUTION_HOURS"].items()
            },
            categories=tuple(str(c) for c in config["ESCALATION_CATEGORIES"]),
            address=str(config["ESCALATION_ADDRESS"]),
            attachment_max_bytes=int(config["ATTACHMENT_MAX_BYTES"]),
            reminder_lead=timedelta(minutes=int(config["ESCALATION_REMINDER_MINUTES"])),
            upload_dir=Path(config["UPLOAD_DIR"]),
            mail=mail,
            secret_key=str(config["SECRET_KEY"]),
        )

    def sign(self, text: str) -> str:
        """An HMAC of ``text`` under the secret key, in hex."""
        return hmac.new(self.secret_key.encode(), text.encode(), hashlib.sha256).hexdigest()
