"""Purging telemetry past each organisation's retention (telemetry_retention, else the server's default).

On PostgreSQL telemetry_point is partitioned by day (partitions.py), and partitions are shared by all
organisations: a day is dropped whole once it is older than the LONGEST retention any organisation with
telemetry has (none is dropped while one keeps points forever). Rows of organisations with a shorter retention,
of the day that straddles a cutoff and of the default partition are deleted: one DELETE per retention value.
SQLite deletes rows only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models import telemetry as tel
from resolvers.monitoring.telemetry.partitions import create_partition, existing_partitions, forget, partition_name

#: Partitions made ahead (today and the next days), so that ingest rarely has to.
DAYS_AHEAD = 3


@dataclass
class Purged:
    dropped: list[date] = field(default_factory=list)
    deleted: int = 0


async def retention_days(session: AsyncSession, default_days: int) -> dict[int, int]:
    """Days kept (0: forever) per organisation that has telemetry series."""
    days = func.coalesce(tel.TelemetryRetention.days, default_days)
    rows = await session.execute(
        select(tel.TelemetrySeries.organisation_id, days)
        .outerjoin(
            tel.TelemetryRetention, tel.TelemetryRetention.organisation_id == tel.TelemetrySeries.organisation_id
        )
        .distinct()
    )
    return {organisation_id: kept for organisation_id, kept in rows}


async def drop_old_partitions(session: AsyncSession, cutoff: datetime) -> list[date]:
    """Drop the day partitions that end at or before `cutoff`."""
    dropped = []
    for day in sorted(await existing_partitions(session)):
        if day + timedelta(days=1) <= cutoff.date():
            await session.execute(text(f'DROP TABLE IF EXISTS "{partition_name(day)}"'))
            forget(day)
            dropped.append(day)
    return dropped


async def purge(session: AsyncSession, default_days: int, now: datetime) -> Purged:
    purged = Purged()
    kept = await retention_days(session, default_days)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        for offset in range(DAYS_AHEAD + 1):
            if (now + timedelta(days=offset)).date() not in await existing_partitions(session):
                await create_partition(session, (now + timedelta(days=offset)).date())
        if kept and 0 not in kept.values():
            purged.dropped = await drop_old_partitions(session, now - timedelta(days=max(kept.values())))
    by_days: dict[int, list[int]] = {}
    for organisation_id, days in kept.items():
        if days > 0:
            by_days.setdefault(days, []).append(organisation_id)
    for days, organisations in sorted(by_days.items()):
        series = select(tel.TelemetrySeries.id).where(tel.TelemetrySeries.organisation_id.in_(organisations))
        result = await session.execute(
            delete(tel.TelemetryPoint).where(
                tel.TelemetryPoint.at < now - timedelta(days=days), tel.TelemetryPoint.series_id.in_(series)
            )
        )
        purged.deleted += cast(CursorResult[Any], result).rowcount or 0
    return purged
