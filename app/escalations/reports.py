"""The agents' dashboard: what is open where, what is late, and how fast first responses come,
week by week, in working time."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from app.escalations.models import RESOLVED, TIERS, WAITING, Priority, Ticket, Tier
from app.escalations.sla import Calendar, working_time_between


@dataclass(frozen=True)
class TierLoad:
    tier: Tier
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


def dashboard(session: Session, now: datetime, cal: Calendar, *, weeks: int = 8) -> Dashboard:
    """The figures as of ``now``; working time counted in ``cal``."""
    return Dashboard(
        load=_load(session), late=_late(session, now), weeks=_weeks(session, now, cal, weeks)
    )


def _load(session: Session) -> list[TierLoad]:
    def count(*conditions: ColumnElement[bool]) -> dict[Tier, int]:
        query = (
            select(Ticket.tier, func.count())
            .where(Ticket.status != RESOLVED, *conditions)
            .group_by(Ticket.tier)
        )
        return dict(session.execute(query).all())

    open_, urgent = count(), count(Ticket.priority == Priority.URGENT)
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


def _weeks(session: Session, now: datetime, cal: Calendar, weeks: int) -> list[Week]:
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
        if responded is None:  # excluded by the query; said again for the type checker
            continue
        hours = working_time_between(created, responded, cal).total_seconds() / 3600
        buckets.setdefault((created - first).days // 7, []).append((hours, responded <= due))
    result: list[Week] = []
    for index in range(weeks):
        answered = buckets.get(index, [])
        spent = sorted(h for h, _ in answered)
        result.append(
            Week(
                starts=first + timedelta(weeks=index),
                answered=len(spent),
                median_hours=statistics.median(spent) if spent else None,
                p90_hours=spent[min(len(spent) - 1, int(len(spent) * 0.9))] if spent else None,
                within_target=(sum(ok for _, ok in answered) / len(answered)) if answered else None,
            )
        )
    return result
