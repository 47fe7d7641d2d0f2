"""Settings as the feature cores receive them: frozen values built once in ``create_app`` from
the configuration, so that a service never reads ``current_app`` (and a test can hand it any
values it likes).

Each feature defines its own settings class in its core and adds a field here.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.settings import AccountSettings
from app.escalations.settings import EscalationSettings
from app.mail.mailer import Mailer
from app.repairs.settings import RepairSettings
from app.warranty.settings import WarrantySettings


@dataclass(frozen=True)
class Settings:
    mail: Mailer
    accounts: AccountSettings
    escalations: EscalationSettings
    repairs: RepairSettings
    warranty: WarrantySettings
