"""Integration schedules in the point's time zone: daily and monthly transfers in Europe/Moscow (no DST since
2014) and Europe/Berlin (DST) at the right instants across the changes and at month ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from resolvers.metering.integrations.schedule import Periodicity, Schedule, period_key, time_zone

MOSCOW, BERLIN = time_zone("Europe/Moscow"), time_zone("Europe/Berlin")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def dues(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    """The next `count` due instants after `start`, each found from the one before (as the scheduler does)."""
    found, moment = [], start
    for _ in range(count):
        _, moment = schedule.next_after(moment)
        found.append(moment)
    return found


def test_daily_in_moscow_is_the_same_utc_hour_all_year():
    schedule = Schedule(date(2026, 3, 27), Periodicity.DAILY, time(9, 0), MOSCOW)
    assert dues(schedule, utc(2026, 3, 26), 4) == [utc(2026, 3, d, 6) for d in (27, 28, 29, 30)]
    assert schedule.next_after(utc(2026, 10, 25, 12)) == (date(2026, 10, 26), utc(2026, 10, 26, 6))


def test_daily_in_berlin_follows_the_clock_across_both_changes():
    schedule = Schedule(date(2026, 3, 27), Periodicity.DAILY, time(9, 0), BERLIN)
    # summer time begins on 29 March 2026: 09:00 is 08:00 UTC before, 07:00 UTC from that day
    assert dues(schedule, utc(2026, 3, 26), 4) == [
        utc(2026, 3, 27, 8), utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)
    ]  # fmt: skip
    # and ends on 25 October 2026
    assert dues(schedule, utc(2026, 10, 23, 12), 3) == [
        utc(2026, 10, 24, 7),
        utc(2026, 10, 25, 8),
        utc(2026, 10, 26, 8),
    ]


def test_a_time_skipped_or_repeated_by_the_change_gives_one_instant_a_day_in_order():
    skipped = Schedule(date(2026, 3, 28), Periodicity.DAILY, time(2, 30), BERLIN)
    # 02:30 does not exist on 29 March: read as 03:30 CEST (01:30 UTC)
    assert dues(skipped, utc(2026, 3, 27), 3) == [
        utc(2026, 3, 28, 1, 30),
        utc(2026, 3, 29, 1, 30),
        utc(2026, 3, 30, 0, 30),
    ]
    repeated = Schedule(date(2026, 10, 24), Periodicity.DAILY, time(2, 30), BERLIN)
    # 02:30 happens twice on 25 October: the first one (CEST, 00:30 UTC), once
    assert dues(repeated, utc(2026, 10, 23), 3) == [
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]


@pytest.mark.parametrize("zone", [MOSCOW, BERLIN], ids=["Moscow", "Berlin"])
def test_monthly_on_the_31st_falls_on_each_months_last_day_and_comes_back(zone):
    schedule = Schedule(date(2027, 12, 31), Periodicity.MONTHLY, time(10, 0), zone)
    due_instants = dues(schedule, utc(2027, 12, 30), 6)
    days = [moment.astimezone(zone).date() for moment in due_instants]
    assert all(moment.astimezone(zone).time() == time(10, 0) for moment in due_instants)
    # counted from the first date, not from the short month before: back to the 31st in March
    assert [schedule.occurrence(n) for n in range(6)] == [
        date(2027, 12, 31), date(2028, 1, 31), date(2028, 2, 29),
        date(2028, 3, 31), date(2028, 4, 30), date(2028, 5, 31),
    ]  # fmt: skip
    assert days == [schedule.occurrence(n) for n in range(6)]
    assert schedule.occurrence(14) == date(2029, 2, 28)  # not a leap year


def test_monthly_across_a_change_keeps_the_local_time():
    schedule = Schedule(date(2026, 2, 25), Periodicity.MONTHLY, time(9, 0), BERLIN)
    assert dues(schedule, utc(2026, 2, 1), 3) == [utc(2026, 2, 25, 8), utc(2026, 3, 25, 8), utc(2026, 4, 25, 7)]


def test_weekly_and_the_first_occurrence():
    schedule = Schedule(date(2026, 12, 7), Periodicity.WEEKLY, time(0, 0), MOSCOW)
    # before the first date: the first date itself; at a due instant: the next one (strictly after)
    assert schedule.next_after(utc(2020, 1, 1)) == (date(2026, 12, 7), utc(2026, 12, 6, 21))
    assert schedule.next_after(utc(2026, 12, 6, 21)) == (date(2026, 12, 14), utc(2026, 12, 13, 21))


def test_far_ahead_steps_from_an_estimate_and_still_gets_the_exact_occurrence():
    for periodicity in Periodicity:
        schedule = Schedule(date(2026, 1, 31), periodicity, time(23, 59), BERLIN)
        moment = utc(2036, 6, 15, 12)
        day, due = schedule.next_after(moment)
        assert due > moment and schedule.due(day) == due
        previous = max(d for d in (schedule.occurrence(n) for n in range(5000)) if schedule.due(d) <= moment)
        assert day > previous and (day - previous) <= timedelta(days=31)


def test_time_zone_names_are_validated_and_periods_are_local_dates():
    assert time_zone("Europe/Moscow") is not None
    assert [time_zone(name) for name in ("", "Mars/Olympus", "../etc/passwd", "/etc/localtime", "x" * 65)] == [None] * 5
    assert period_key(date(2026, 3, 29)) == "2026-03-29"
