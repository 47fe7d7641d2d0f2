"""Response targets in business hours: a pure calendar (days, opening hours, holidays, time zone)
and the arithmetic to add working time to a moment and to measure working time between two."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Calendar:
    zone: str = "Europe/Amsterdam"
    opens: time = time(8, 0)
    closes: time = time(18, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` (UTC-aware) falls within business hours."""
        local = _local(moment, self)
        return self.is_working_day(local.date()) and self.opens <= local.time() < self.closes


def _local(moment: datetime, calendar: Calendar) -> datetime:
    return moment.astimezone(ZoneInfo(calendar.zone))


def add_working_time(start: datetime, duration: timedelta, calendar: Calendar) -> datetime:
    """The moment ``duration`` of working time after ``start`` (a UTC-aware datetime)."""
    zone = ZoneInfo(calendar.zone)
    current = _local(start, calendar)
    left = duration
    for _day in range(3660):  # ten years of days: a calendar with no working day ends here
        day = current.date()
        if calendar.is_working_day(day):
            opens = datetime.combine(day, calendar.opens, zone)
            closes = datetime.combine(day, calendar.closes, zone)
            begin = max(current, opens)
            if begin < closes:
                available = closes - begin
                if left <= available:
                    return (begin + left).astimezone(UTC)
                left -= available
        current = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    raise ValueError("the calendar has no working time")


def working_time_between(start: datetime, end: datetime, calendar: Calendar) -> timedelta:
    """Working time from ``start`` to ``end`` (zero when ``end`` is not after ``start``)."""
    if end <= start:
        return timedelta(0)
    zone = ZoneInfo(calendar.zone)
    current, stop = _local(start, calendar), _local(end, calendar)
    total = timedelta(0)
    while current.date() <= stop.date():
        day = current.date()
        if calendar.is_working_day(day):
            opens = datetime.combine(day, calendar.opens, zone)
            closes = datetime.combine(day, calendar.closes, zone)
            begin, finish = max(current, opens), min(stop, closes)
            if finish > begin:
                total += finish - begin
        current = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    return total


def working_time_left(now: datetime, due: datetime, calendar: Calendar) -> timedelta:
    """Working time until ``due``; negative, by the working time since, once it has passed."""
    if due >= now:
        return working_time_between(now, due, calendar)
    return -working_time_between(due, now, calendar)


def parse_holidays(text: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(d.strip()) for d in text.split(",") if d.strip())


def parse_days(values: Iterable[str]) -> frozenset[int]:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return frozenset(names.index(v.strip().lower()[:3]) for v in values if v.strip())
