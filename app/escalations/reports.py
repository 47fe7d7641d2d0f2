"""The agents' dashboard: what is open where, what is late, and how fast first responses come,
week by week, in working time."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.escalations.models import RESOLVED, TIERS, WAITING, Ticket
from app.escalations.services import calendar
from app.escalations.sla import working_time_between


@dataclass(frozen=True)
class TierLoad:
    tier: str
    open: int
    urgent: int
    waiting: int
    unassigned: int
    consults: int


@dataclass(frozen=True)
class Week:
    starts: datetime
    answered: int
    median_hours: float | None
    p90_hours: float | None
    within_target: float | None  # share answered before the first-response target


@dataclass(frozen=True)
class Dashboard:
    load: list[TierLoad]
    late: list[Ticket]
    weeks: list[Week]


def dashboard(session: Session, now: datetime, *, weeks: int = 8) -> Dashboard:
    return Dashboard(
        load=_load(session), late=_late(session, now), weeks=_weeks(session, now, weeks)
    )


def _load(session: Session) -> list[TierLoad]:
    def count(*conditions: object) -> dict[str, int]:
        query = (
            select(Ticket.tier, func.count())
            .where(Ticket.status != RESOLVED, *conditions)  # type: ignore[arg-type]
            .group_by(Ticket.tier)
        )
        return dict(session.execute(query).all())  # type: ignore[arg-type]

    open_, urgent = count(), count(Ticket.priority == "urgent")
    waiting, unassigned = count(Ticket.status == WAITING), count(Ticket.assignee_id.is_(None))
    consults = session.scalar(
        select(func.count()).where(Ticket.status != RESOLVED, Ticket.consult_since.is_not(None))
    )
    return [
        TierLoad(
            tier=tier,
            open=open_.get(tier, 0),
            urgent=urgent.get(tier, 0),
            waiting=waiting.get(tier, 0),
            unassigned=unassigned.get(tier, 0),
            consults=(consults or 0) if tier == "engineering" else 0,
        )
        for tier in TIERS
    ]


def _late(session: Session, now: datetime, limit: int = 50) -> list[Ticket]:
    """Open tickets past a target: unanswered past the first response, or unresolved past the
    resolution (a paused clock is not late)."""
    query = (
        select(Ticket)
        .where(
            Ticket.status != RESOLVED,
            or_(
                Ticket.first_responded_at.is_(None) & (Ticket.first_response_due < now),
                Ticket.paused_at.is_(None) & (Ticket.resolution_due < now),
            ),
        )
        .order_by(Ticket.first_response_due)
        .limit(limit)
    )
    return list(session.scalars(query))


def _weeks(session: Session, now: datetime, weeks: int) -> list[Week]:
    cal = calendar()
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    first = monday - timedelta(weeks=weeks - 1)
    rows = session.execute(
        select(Ticket.created_at, Ticket.first_responded_at, Ticket.first_response_due).where(
            Ticket.first_responded_at.is_not(None), Ticket.created_at >= first
        )
    ).all()
    buckets: dict[int, list[tuple[float, bool]]] = {}
    for created, responded, due in rows:
        hours = working_time_between(created, responded, cal).total_seconds() / 3600
        buckets.setdefault((created - first).days // 7, []).append((hours, responded <= due))
    result = []
    for index in range(weeks):
        answered = buckets.get(index, [])
        hours = sorted(h for h, _ in answered)
        result.append(
            Week(
                starts=first + timedelta(weeks=index),
                answered=len(hours),
                median_hours=statistics.median(hours) if hours else None,
                p90_hours=hours[min(len(hours) - 1, int(len(hours) * 0.9))] if hours else None,
                within_target=(sum(ok for _, ok in answered) / len(answered)) if answered else None,
            )
        )
    return result
