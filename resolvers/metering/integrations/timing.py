"""An integration's schedule (schedule.py) from its row, and its next occurrence."""

from __future__ import annotations

from datetime import date, datetime, time

from models import metering as mt
from resolvers.metering.integrations.schedule import Periodicity, Schedule, time_zone

#: The local time of day of transfers when the user names none: the morning, after the night's readings.
DEFAULT_TIME_OF_DAY = time(10, 0)


def schedule_of(integration: mt.Integration, zone_name: str) -> Schedule:
    zone = time_zone(zone_name)
    if zone is None:  # the point's zone is validated when stored; a zone database without it reads as UTC
        zone = time_zone("UTC")
    assert zone is not None
    minute = integration.at_minute
    return Schedule(integration.first_date, Periodicity(integration.periodicity), time(minute // 60, minute % 60), zone)


def first_occurrence(schedule: Schedule, now: datetime) -> tuple[date, datetime]:
    """The first occurrence still ahead: the first date itself if its instant is, else the next one after now."""
    due = schedule.due(schedule.first)
    return (schedule.first, due) if due > now else schedule.next_after(now)


def set_next(integration: mt.Integration, zone_name: str, now: datetime) -> None:
    integration.next_period, integration.next_due_at = first_occurrence(schedule_of(integration, zone_name), now)
