"""The latest reading of meters, for the metering point's `latestReading` (through the loader) and for the
integrations that deliver it: one statement for any number of meters, read from the series' latest value that
ingest keeps (telemetry_series.last_at/last_value), not from the points."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import metering as mt
from models import telemetry as tel

#: The key of the reading a resource's meter counts (ingest.UNITS gives its unit).
RESOURCE_KEYS = {
    mt.Resource.COLD_WATER: "volume",
    mt.Resource.HOT_WATER: "volume",
    mt.Resource.GAS: "volume",
    mt.Resource.HEAT: "energy",
    mt.Resource.ELECTRICITY: "energy",
}
READING_KEYS = frozenset(RESOURCE_KEYS.values())


@dataclass(frozen=True, slots=True)
class Reading:
    """A meter's reading: its counter (`volume` in m³ or `energy` in kWh) at a time."""

    meter_id: int
    key: str
    unit: str
    at: datetime
    value: float


async def latest_readings(session: AsyncSession, meter_ids: Iterable[int]) -> dict[int, Reading]:
    """The newest reading per meter (by the reading's time) of the meters that have one, in one statement.
    A meter counts one of READING_KEYS; should it have sent both, the newer one is its reading."""
    wanted = set(meter_ids)
    if not wanted:
        return {}
    series = tel.TelemetrySeries
    rows = await session.execute(
        select(series.meter_id, series.key, series.unit, series.last_at, series.last_value).where(
            series.meter_id.in_(wanted), series.key.in_(READING_KEYS), series.last_at.is_not(None)
        )
    )
    latest: dict[int, Reading] = {}
    for meter_id, key, unit, at, value in rows:
        if meter_id is None or at is None or value is None:  # excluded by the statement; for the type checker
            continue
        known = latest.get(meter_id)
        if known is None or at > known.at:
            latest[meter_id] = Reading(meter_id, key, unit, at, value)
    return latest
