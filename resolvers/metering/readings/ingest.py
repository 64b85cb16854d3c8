"""Storing meter readings: the one rule behind POST /meters/readings (a gateway token names meters by serial
number), MQTT (the topic names the meter) and the demo simulator.

A reading is a telemetry point of the meter's own series (telemetry_series.meter_id): the values are checked by
telemetry's clean_points and written by its write_points and move_latest, so the same rules hold: all or nothing
per message, last write wins per meter, key and time, the late window. Unlike a location's points, readings do not
run POINTS_STORED: location alarms and forwarding are about locations, and a meter is at none (a reading's
deliveries are the metering integrations' business)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from graph.errors import DomainError, DomainErrors, problems_of
from models import catalogue as c
from models import telemetry as tel
from models.base import utcnow
from resolvers.metering.errors import MeteringErrorCode as Code
from resolvers.monitoring.telemetry.points import PointIn, PointPaths, clean_points, last_wins
from resolvers.monitoring.telemetry.rules import DEFAULT_LATE, move_latest, write_points

#: The unit of each documented reading key (series.unit): water and gas meters count m³, heat and electricity
#: meters kWh. Other keys (a meter's battery, temperature, alarms) are stored without a unit.
UNITS = {"volume": "m³", "energy": "kWh"}
MAX_SERIAL = 64


@dataclass(frozen=True, slots=True)
class ReadingIn:
    """A reading as received: the meter by serial number (and manufacturer where serials collide), and a point."""

    serial_number: object
    point: PointIn
    manufacturer: object = None


@dataclass(frozen=True, slots=True)
class StoredReading:
    meter_id: int
    series_id: int
    key: str
    at: datetime
    value: float


class ReadingPaths(PointPaths):
    """Problems point at readings.<index>.<field> ("Reading <index>: …")."""

    whole = "readings"

    def locate(self, index: int, field: str) -> tuple[list[str], str]:
        return ["readings", str(index), field], f"Reading {index}"


READINGS = ReadingPaths()
MeterKey = tuple[str, str | None]


def _meter_key(reading: ReadingIn) -> MeterKey | str:
    """(serial, manufacturer or None), or why the reading names no meter."""
    serial, manufacturer = reading.serial_number, reading.manufacturer
    if not isinstance(serial, str) or not serial.strip():
        return "a serialNumber is required"
    if len(serial) > MAX_SERIAL or (manufacturer is not None and not isinstance(manufacturer, str)):
        return "not a serial number (or manufacturer) of a meter"
    return serial.strip(), manufacturer


async def resolve_meters(
    session: AsyncSession, readings: list[ReadingIn], organisation_id: int | None, paths: PointPaths
) -> tuple[list[int], dict[int, int]]:
    """The meter pk of each reading, and each meter's organisation, or DomainErrors naming every reading whose meter
    is unknown (to the organisation `organisation_id`; None: any owned meter, MQTT's trusted topic) or ambiguous."""
    errors: list[DomainError] = []
    keys: list[MeterKey | str] = [_meter_key(reading) for reading in readings]
    serials = {key[0] for key in keys if isinstance(key, tuple)}
    statement = select(c.Device.id, c.Device.serial_number, c.Device.manufacturer, c.Device.organisation_id).where(
        c.Device.serial_number.in_(serials), c.Device.organisation_id.is_not(None)
    )
    if organisation_id is not None:
        statement = statement.where(c.Device.organisation_id == organisation_id)
    candidates: dict[str, list[tuple[int, str, int | None]]] = {}
    for pk, serial, manufacturer, owner in await session.execute(statement) if serials else []:
        candidates.setdefault(serial, []).append((pk, manufacturer, owner))
    meters: list[int] = []
    owners: dict[int, int] = {}
    for index, key in enumerate(keys):
        if isinstance(key, str):
            found, reason = [], key
        else:
            found = [row for row in candidates.get(key[0], []) if key[1] is None or row[1] == key[1]]
            reason = "no such meter" if not found else "several meters have this serial number; name the manufacturer"
        if len(found) != 1:
            path, label = paths.locate(index, "serialNumber")
            errors.append(DomainError(Code.NOT_FOUND if not found else Code.INVALID, f"{label}: {reason}", path))
            meters.append(0)
            continue
        meters.append(found[0][0])
        owners[found[0][0]] = cast(int, found[0][2])  # the statement takes owned meters only
    if errors:
        raise DomainErrors(errors)
    return meters, owners


async def store_readings(
    session: AsyncSession,
    readings: list[ReadingIn],
    *,
    organisation_id: int | None,
    late: timedelta = DEFAULT_LATE,
    now: datetime | None = None,
    paths: PointPaths = READINGS,
) -> list[StoredReading]:
    """Store the readings of meters of `organisation_id` (None: of any organisation); raises DomainErrors listing
    every bad reading, and then nothing is written."""
    now = now or utcnow()
    problems: list[DomainError] = []
    try:  # a single DomainError (too many readings) goes up at once, before any query
        clean, _ = clean_points([reading.point for reading in readings], now, late, paths)
    except DomainErrors as error:
        problems += error.errors
    try:
        meters, owners = await resolve_meters(session, readings, organisation_id, paths)
    except DomainError as error:
        problems += problems_of(error)
    if problems:
        raise DomainErrors(problems)
    for point, meter in zip(clean, meters, strict=True):
        point.device_id = meter  # the series' owner, for last_wins: here a meter, not a location's device
    latest = last_wins(clean)
    series = await meter_series(session, owners, {(cast(int, p.device_id), p.key): p.boolean for p in latest.values()})
    stored = [
        StoredReading(cast(int, p.device_id), series[(cast(int, p.device_id), p.key)], p.key, p.at, p.value)
        for p in latest.values()
    ]
    if stored:
        await write_points(session, stored)
        await move_latest(session, stored)
    return stored


async def meter_series(
    session: AsyncSession, owners: dict[int, int], wanted: dict[tuple[int, str], bool]
) -> dict[tuple[int, str], int]:
    """Ids of the meters' series by (meter, key), created when missing (race-safe as telemetry's: insert with ON
    CONFLICT DO NOTHING on the partial unique index, then read the winner's)."""
    found = await _existing(session, wanted)
    missing = [key for key in wanted if key not in found]
    if missing:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        rows = [
            {
                "organisation_id": owners[meter],
                "meter_id": meter,
                "key": key,
                "unit": UNITS.get(key, ""),
                "data_type": tel.DataType.BOOLEAN if wanted[(meter, key)] else tel.DataType.FLOAT,
            }
            for meter, key in missing
        ]
        await session.execute(insert(tel.TelemetrySeries).on_conflict_do_nothing(), rows)
        found.update(await _existing(session, dict.fromkeys(missing, False)))
    return found


async def _existing(session: AsyncSession, wanted: dict[tuple[int, str], bool]) -> dict[tuple[int, str], int]:
    series = tel.TelemetrySeries
    rows = await session.execute(
        select(series.meter_id, series.key, series.id).where(
            series.meter_id.in_({meter for meter, _ in wanted}), series.key.in_({key for _, key in wanted})
        )
    )
    return {(cast(int, meter), key): pk for meter, key, pk in rows if (meter, key) in wanted}
