"""A metering point's readings, newest first: the raw points, or the last reading of each day or month in the
point's time zone, computed in SQL (one statement).

PostgreSQL buckets by `date_trunc(…, at AT TIME ZONE zone)`. SQLite has no time-zone database: the zone's UTC
offsets over the asked range are worked out here (zoneinfo) and passed as a CASE of offsets by instant, which
strftime applies before cutting the day or month; the result is the same."""

from __future__ import annotations

import enum
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import telemetry as tel


class Aggregation(enum.Enum):
    NONE = "NONE"
    DAY = "DAY"
    MONTH = "MONTH"


#: How far back SQLite's offsets are worked out when no start is given (points before it take its offset).
OFFSETS_SPAN = timedelta(days=366 * 20)


def offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(instant, UTC offset in seconds from then on) for `start` and every change of offset up to `end`: a day's
    step finds a change, a bisection over whole seconds its first second."""

    def offset(moment: datetime) -> int:
        delta = moment.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    changes = [(start, offset(start))]
    moment = start
    while moment < end:
        following = min(moment + timedelta(days=1), end)
        if offset(following) != changes[-1][1]:
            # zones change on whole seconds: bisect them to the first second of the new offset
            low, high = int(moment.timestamp()), math.ceil(following.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (
                    (middle, high) if offset(datetime.fromtimestamp(middle, UTC)) == changes[-1][1] else (low, middle)
                )
            instant = datetime.fromtimestamp(high, UTC)
            changes.append((instant, offset(instant)))
        moment = following
    return changes


def _bucket(dialect: str, aggregation: Aggregation, zone: str, start: datetime, end: datetime) -> Any:
    at = tel.TelemetryPoint.at
    if dialect == "postgresql":
        unit = "day" if aggregation is Aggregation.DAY else "month"
        return func.date_trunc(unit, func.timezone(literal(zone), at))
    changes = offset_changes(ZoneInfo(zone), start, end)
    first_shift = literal(f"{changes[0][1]:+d} seconds")
    shift = (
        case(
            *[(at >= instant, f"{seconds:+d} seconds") for instant, seconds in reversed(changes[1:])], else_=first_shift
        )
        if len(changes) > 1
        else first_shift
    )
    return func.strftime("%Y-%m-%d" if aggregation is Aggregation.DAY else "%Y-%m", at, shift)


async def series_readings(
    session: AsyncSession,
    series_id: int,
    zone: str,
    aggregation: Aggregation,
    start: datetime | None,
    end: datetime,
    first: int,
) -> list[tuple[datetime, float]]:
    """(time, value) newest first: at most `first`, from `start` (inclusive; None: the beginning) to `end`
    (exclusive); aggregated, the last point of each local day or month."""
    point = tel.TelemetryPoint
    window = [point.series_id == series_id, point.at < end]
    if start is not None:
        window.append(point.at >= start)
    if aggregation is Aggregation.NONE:
        statement = select(point.at, point.value).where(*window).order_by(point.at.desc()).limit(first)
        return [(at, value) for at, value in await session.execute(statement)]
    dialect = session.get_bind().dialect.name
    bucket = _bucket(dialect, aggregation, zone, start or end - OFFSETS_SPAN, end)
    rank = func.row_number().over(partition_by=bucket, order_by=point.at.desc()).label("rank")
    ranked = select(point.at, point.value, rank).where(*window).subquery()
    statement = select(ranked.c.at, ranked.c.value).where(ranked.c.rank == 1).order_by(ranked.c.at.desc()).limit(first)
    return [
        (at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC), value)
        for at, value in await session.execute(statement)
    ]
