"""When an integration's transfers are due, in the metering point's time zone.

A schedule is a first transfer date, a periodicity and a local time of day. Occurrence n falls on:

- DAILY: the first date + n days; WEEKLY: + 7n days;
- MONTHLY: the first date's day of the month, n months later, or the month's last day when it is shorter
  (first the 31st: 28th/29th February, 31st March, 30th April — the day comes back after a short month,
  because every occurrence is counted from the first date, never from the one before).

The local date and time become an instant with zoneinfo, so a daily 09:00 in Europe/Berlin is 08:00 UTC in
winter and 07:00 UTC in summer. A local time that does not exist (the hour skipped in spring) is read with the
offset before the change, i.e. as the same number of minutes after the change (02:30 -> 03:30 CEST); one that
exists twice (the hour repeated in autumn) is the first of the two. Either way each local date has exactly one
due instant, and they are strictly increasing.

The period of an occurrence is its local date (ISO): with the integration it makes the idempotency key of that
period's delivery, so a period is delivered once however many workers see it due.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Periodicity(enum.StrEnum):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


def time_zone(name: str) -> ZoneInfo | None:
    """The IANA time zone of this name, or None (also for names zoneinfo would read as a file path)."""
    if not name or name.startswith(("/", ".")) or ".." in name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Schedule:
    first: date
    periodicity: Periodicity
    at: time
    zone: ZoneInfo

    def occurrence(self, n: int) -> date:
        """The local date of occurrence n (0: the first date)."""
        if self.periodicity is Periodicity.DAILY:
            return self.first + timedelta(days=n)
        if self.periodicity is Periodicity.WEEKLY:
            return self.first + timedelta(weeks=n)
        months = self.first.month - 1 + n
        year, month = self.first.year + months // 12, months % 12 + 1
        return date(year, month, min(self.first.day, calendar.monthrange(year, month)[1]))

    def due(self, day: date) -> datetime:
        """The UTC instant of a transfer on this local date."""
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)

    def next_after(self, moment: datetime) -> tuple[date, datetime]:
        """(local date, due instant) of the first occurrence due strictly after `moment`."""
        n = self._estimate(moment)
        while n > 0 and self.due(self.occurrence(n - 1)) > moment:
            n -= 1
        while self.due(self.occurrence(n)) <= moment:
            n += 1
        day = self.occurrence(n)
        return day, self.due(day)

    def _estimate(self, moment: datetime) -> int:
        """An occurrence number near the answer, so that next_after steps a few times, not once per day."""
        days = (moment.astimezone(self.zone).date() - self.first).days
        if days <= 0:
            return 0
        if self.periodicity is Periodicity.DAILY:
            return days
        if self.periodicity is Periodicity.WEEKLY:
            return days // 7
        return max(0, days // 31)


def period_key(day: date) -> str:
    """The period an occurrence delivers (its local date), for idempotency keys and the run history."""
    return day.isoformat()
