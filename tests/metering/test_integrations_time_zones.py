"""The scheduler fires daily and monthly integrations at the right instant in the point's time zone: Europe/Moscow
(UTC+3, no DST) and Europe/Berlin across both DST changes, and at month ends (the 31st falls back to the 30th or
the 28th and comes back). At each expected instant minus a second nothing is queued; at the instant, that period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from models import metering as mt
from resolvers.metering.integrations.scheduler import schedule_due
from tests.metering.integrations_helpers import add_integration, seed_points


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


CASES = {
    # daily 09:00 Berlin across the spring change (28 March 2027: 02:00 CET -> 03:00 CEST)
    ("Europe/Berlin", "DAILY", date(2027, 3, 26), 9 * 60): [
        (date(2027, 3, 26), utc("2027-03-26T08:00")),
        (date(2027, 3, 27), utc("2027-03-27T08:00")),
        (date(2027, 3, 28), utc("2027-03-28T07:00")),
        (date(2027, 3, 29), utc("2027-03-29T07:00")),
    ],
    # daily 02:30 Berlin across the autumn change (31 October 2027: 02:30 happens twice; the first one counts)
    ("Europe/Berlin", "DAILY", date(2027, 10, 30), 2 * 60 + 30): [
        (date(2027, 10, 30), utc("2027-10-30T00:30")),
        (date(2027, 10, 31), utc("2027-10-31T00:30")),
        (date(2027, 11, 1), utc("2027-11-01T01:30")),
    ],
    # daily 02:30 Berlin on the spring day: that local time does not exist, it is read as 03:30 CEST
    ("Europe/Berlin", "DAILY", date(2027, 3, 27), 2 * 60 + 30): [
        (date(2027, 3, 27), utc("2027-03-27T01:30")),
        (date(2027, 3, 28), utc("2027-03-28T01:30")),
        (date(2027, 3, 29), utc("2027-03-29T00:30")),
    ],
    # daily 09:00 Moscow: always 06:00 UTC, whatever Berlin does
    ("Europe/Moscow", "DAILY", date(2027, 3, 27), 9 * 60): [
        (date(2027, 3, 27), utc("2027-03-27T06:00")),
        (date(2027, 3, 28), utc("2027-03-28T06:00")),
        (date(2027, 3, 29), utc("2027-03-29T06:00")),
    ],
    # monthly on the 31st, 10:00 Berlin: February's 28th, March's 31st (now CEST), April's 30th
    ("Europe/Berlin", "MONTHLY", date(2027, 1, 31), 10 * 60): [
        (date(2027, 1, 31), utc("2027-01-31T09:00")),
        (date(2027, 2, 28), utc("2027-02-28T09:00")),
        (date(2027, 3, 31), utc("2027-03-31T08:00")),
        (date(2027, 4, 30), utc("2027-04-30T08:00")),
    ],
    # monthly on the 31st, 10:00 Moscow, through a leap February
    ("Europe/Moscow", "MONTHLY", date(2027, 12, 31), 10 * 60): [
        (date(2027, 12, 31), utc("2027-12-31T07:00")),
        (date(2028, 1, 31), utc("2028-01-31T07:00")),
        (date(2028, 2, 29), utc("2028-02-29T07:00")),
        (date(2028, 3, 31), utc("2028-03-31T07:00")),
    ],
}


@pytest.mark.parametrize("case", list(CASES), ids=lambda case: f"{case[0]}-{case[1]}-{case[2]}-{case[3]}")
async def test_the_scheduler_fires_at_the_local_instant(runtime, world, case):
    zone, periodicity, first, minute = case
    seeded = await seed_points(runtime, world)
    async with runtime.session_factory() as session, session.begin():
        point = await session.get(mt.MeteringPoint, seeded.points["anna"])
        point.time_zone = zone
    integration = await add_integration(
        runtime,
        seeded.points["anna"],
        mt.IntegrationKind.EMAIL,
        {"recipient": "uk@management.example"},
        first=first,
        periodicity=periodicity,
        minute=minute,
        now=CASES[case][0][1] - timedelta(days=1),  # a fixed moment before the first transfer, not the clock
    )
    for period, instant in CASES[case]:
        assert await schedule_due(runtime, instant - timedelta(seconds=1)) == 0, period
        assert await schedule_due(runtime, instant) == 1, period
        async with runtime.session_factory() as session:
            newest = await session.scalar(
                select(mt.IntegrationRun.period)
                .where(mt.IntegrationRun.integration_id == integration)
                .order_by(mt.IntegrationRun.id.desc())
                .limit(1)
            )
        assert newest == period
