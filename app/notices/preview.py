"""Whether a notice would reach a person: the preview's question, answered from the notice's
targets by the same rule :func:`app.notices.services.audience` applies in the database."""

from __future__ import annotations

from app.notices.models import Notice, TargetKind
from app.notices.services import DEFAULT_AUDIENCE
from app.roles import Role


def reaches(notice: Notice, *, role: Role, centre_name: str | None) -> bool:
    """A person of ``role`` at the centre named ``centre_name`` is among those it is sent to:
    its roles (by default technicians and centre managers) at its centres (by default all)."""
    roles = {t.value for t in notice.targets if t.kind == TargetKind.ROLE}
    centres = {t.value for t in notice.targets if t.kind == TargetKind.CENTRE}
    if role.value not in (roles or {r.value for r in DEFAULT_AUDIENCE}):
        return False
    return not centres or (centre_name is not None and centre_name in centres)
