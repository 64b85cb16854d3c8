"""Storing telemetry: the one rule behind the batch mutation, POST /telemetry and MQTT.

All or nothing: every point is checked first, and one bad point refuses the whole call with a problem per
bad point. Then, in the caller's transaction: the series are found or created (race-safe), the points are
written with last-write-wins per series and time (one statement per batch), the series' latest values move
forward, and POINTS_STORED lets alarms and forwarding act before the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import remote as r
from models import telemetry as tel
from models.base import utcnow
from resolvers.monitoring.datalog.series_types import datalog_types
from resolvers.monitoring.hooks import POINTS_STORED, StoredPoint
from resolvers.monitoring.telemetry.partitions import ensure_partitions
from resolvers.monitoring.telemetry.points import (
    PointIn,
    PointPaths,
    check_devices,
    clean_points,
    last_wins,
)

DEFAULT_LATE = timedelta(days=7)
FLAT = PointPaths()

SeriesKey = tuple[int | None, str]


class WrittenPoint(Protocol):
    """What writing a point needs: a location's StoredPoint, or a meter's reading (resolvers/metering/readings)."""

    @property
    def series_id(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def value(self) -> float: ...


# One statement for the whole batch on PostgreSQL: arrays in, rows out of unnest (a VALUES list of 10,000 rows
# would be 30,000 parameters, beyond asyncpg's 32,767 at a larger batch, and slower to plan).
_PG_POINTS = text(
    "INSERT INTO telemetry_point (series_id, at, value) "
    "SELECT * FROM unnest(CAST(:series AS BIGINT[]), CAST(:at AS TIMESTAMPTZ[]), CAST(:value AS FLOAT8[])) "
    "ON CONFLICT (series_id, at) DO UPDATE SET value = excluded.value"
)
# The series are locked (in id order: two batches never wait for each other crosswise) and read before they move,
# so the statement tells which moved past their latest value as it was committed, also under concurrent ingests.
# NO KEY UPDATE, the lock the UPDATE takes anyway: FOR UPDATE would conflict with the key-share locks the points'
# foreign keys hold on the same series, and two batches would deadlock.
_PG_LATEST = text(
    "WITH v AS (SELECT * FROM unnest(CAST(:series AS BIGINT[]), CAST(:at AS TIMESTAMPTZ[]), "
    "CAST(:value AS FLOAT8[])) AS v(id, at, value)), "
    "old AS (SELECT id, last_at FROM telemetry_series WHERE id IN (SELECT id FROM v) ORDER BY id FOR NO KEY UPDATE) "
    "UPDATE telemetry_series AS s SET last_at = v.at, last_value = v.value FROM v JOIN old ON old.id = v.id "
    "WHERE s.id = v.id AND (s.last_at IS NULL OR s.last_at <= v.at) "
    "RETURNING s.id, old.last_at IS NULL OR old.last_at < v.at"
)


def late_window(settings: Any) -> timedelta:
    return timedelta(days=getattr(settings, "telemetry_late_days", DEFAULT_LATE.days))


async def store_points(
    session: AsyncSession,
    context: Any,
    location: r.Location,
    points: list[PointIn],
    *,
    late: timedelta = DEFAULT_LATE,
    now: datetime | None = None,
    paths: PointPaths = FLAT,
) -> list[StoredPoint]:
    """Store `points` of `location` (already checked to be within the caller's reach); raises DomainErrors
    listing every bad point (at `paths`), and then nothing is written. `context` is None for devices (HTTP,
    MQTT)."""
    del context  # the caller checked the reach; ingest is not audited point by point
    now = now or utcnow()
    clean, devices = clean_points(points, now, late, paths)
    if devices:
        known = await session.scalars(
            select(r.LocationDevice.id).where(
                r.LocationDevice.location_id == location.id, r.LocationDevice.id.in_(devices)
            )
        )
        check_devices(points, set(known), paths)
    latest = last_wins(clean)
    series = await series_ids(session, location, {(p.device_id, p.key): p.boolean for p in latest.values()})
    stored = [
        StoredPoint(
            location.organisation_id,
            location.id,
            p.device_id,
            series[(p.device_id, p.key)],
            p.key,
            p.at,
            p.value,
            advances=False,  # until move_latest says which moved their series forward
        )
        for p in latest.values()
    ]
    if stored:
        await write_points(session, stored)
        advanced = await move_latest(session, stored, which_advanced=True)
        if advanced:
            stored = [replace(p, advances=True) if advanced.get(p.series_id) is p else p for p in stored]
        await POINTS_STORED(session, stored)
    return stored


async def series_ids(
    session: AsyncSession, location: r.Location, wanted: dict[SeriesKey, bool]
) -> dict[SeriesKey, int]:
    """Ids of the location's series by (device, key), created when missing. Two ingests creating the same series
    at once: both insert with ON CONFLICT DO NOTHING on the partial unique indexes, then both read the winner's.
    A new series takes its unit and data type from the location's datalog variable of its key, if any."""
    if not wanted:
        return {}
    found = await _existing(session, location.id, wanted)
    missing = [key for key in wanted if key not in found]
    if missing:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        types = await datalog_types(session, [location.id])
        rows = []
        for device_id, key in missing:
            given = tel.DataType.BOOLEAN if wanted[(device_id, key)] else tel.DataType.FLOAT
            # a datalog variable of that key names the series' unit and data type (issue 16)
            unit, data_type = types.of(location.id, device_id, key) or ("", given)
            row = {"organisation_id": location.organisation_id, "location_id": location.id, "device_id": device_id}
            rows.append(row | {"key": key, "unit": unit, "data_type": data_type})
        await session.execute(insert(tel.TelemetrySeries).on_conflict_do_nothing(), rows)
        found.update(await _existing(session, location.id, dict.fromkeys(missing, False)))
    return found


async def _existing(session: AsyncSession, location_id: int, wanted: dict[SeriesKey, bool]) -> dict[SeriesKey, int]:
    keys = {key for _, key in wanted}
    rows = await session.execute(
        select(tel.TelemetrySeries.device_id, tel.TelemetrySeries.key, tel.TelemetrySeries.id).where(
            tel.TelemetrySeries.location_id == location_id, tel.TelemetrySeries.key.in_(keys)
        )
    )
    return {(device_id, key): pk for device_id, key, pk in rows if (device_id, key) in wanted}


async def write_points(session: AsyncSession, stored: Sequence[WrittenPoint]) -> None:
    """Insert or overwrite (same series and time: the new value wins, never a second row)."""
    if session.get_bind().dialect.name == "postgresql":
        await ensure_partitions(session, {point.at for point in stored})
        await session.execute(
            _PG_POINTS,
            {
                "series": [p.series_id for p in stored],
                "at": [p.at for p in stored],
                "value": [p.value for p in stored],
            },
        )
        return
    statement = sqlite_insert(tel.TelemetryPoint)
    statement = statement.on_conflict_do_update(
        index_elements=["series_id", "at"], set_={"value": statement.excluded.value}
    )
    # Core on the session's connection: the ORM's bulk path would cost more than the insert itself
    connection = await session.connection()
    await connection.execute(statement, [{"series_id": p.series_id, "at": p.at, "value": p.value} for p in stored])


async def move_latest(
    session: AsyncSession, stored: Sequence[WrittenPoint], *, which_advanced: bool = False
) -> dict[int, WrittenPoint]:
    """Each series' latest value moves to the batch's newest point, unless the series already has a newer one.
    With `which_advanced`: the newest point of each series that is later than the series' latest before this
    batch (a late or re-sent point is not), by series; one more statement on SQLite (none on PostgreSQL)."""
    newest: dict[int, WrittenPoint] = {}
    for point in stored:
        known = newest.get(point.series_id)
        if known is None or point.at >= known.at:
            newest[point.series_id] = point
    if session.get_bind().dialect.name == "postgresql":
        values = list(newest.values())
        rows = await session.execute(
            _PG_LATEST,
            {"series": list(newest), "at": [p.at for p in values], "value": [p.value for p in values]},
        )
        return {pk: newest[pk] for pk, advanced in rows if advanced} if which_advanced else {}
    series = tel.TelemetrySeries
    before: dict[int, datetime | None] = {}
    if which_advanced:
        # the batch's points are written: this transaction holds SQLite's write lock, no other ingest moves these
        found = await session.execute(select(series.id, series.last_at).where(series.id.in_(newest)))
        before = {pk: last_at for pk, last_at in found}
    statement = (
        update(series)
        .where(
            series.id == bindparam("series"),
            or_(series.last_at.is_(None), series.last_at <= bindparam("at", type_=series.last_at.type)),
        )
        .values(last_at=bindparam("at"), last_value=bindparam("value"))
    )
    connection = await session.connection()
    await connection.execute(statement, [{"series": pk, "at": p.at, "value": p.value} for pk, p in newest.items()])
    if not which_advanced:
        return {}
    return {pk: p for pk, p in newest.items() if (last := before.get(pk)) is None or last < p.at}


__all__ = ["DEFAULT_LATE", "PointIn", "WrittenPoint", "late_window", "move_latest", "store_points", "write_points"]
