"""Demo readings: every demo meter bound to a metering point counts up smoothly with time (water and gas in m³,
heat and electricity in kWh; more by day than by night, never backwards), so that the seeded days of history
and the simulator's live readings (workers/readings_simulator.py) join up. Both go through the readings rule."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import catalogue as c
from models import metering as mt
from models.base import utcnow
from resolvers.metering.readings.ingest import ReadingIn, store_readings
from resolvers.metering.readings.latest import RESOURCE_KEYS
from resolvers.monitoring.telemetry.points import PointIn

DAY = 86_400.0
#: Mean use per day: a flat's cold water 0.15 m³, hot water 0.1 m³, gas 1 m³, heat 30 kWh, electricity 8 kWh.
DAILY_USE = {
    mt.Resource.COLD_WATER: 0.15,
    mt.Resource.HOT_WATER: 0.1,
    mt.Resource.GAS: 1.0,
    mt.Resource.HEAT: 30.0,
    mt.Resource.ELECTRICITY: 8.0,
}
HISTORY_DAYS = 3
#: The demo counters started at midnight UTC on 1 January 2026.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class DemoMeter:
    serial_number: str
    manufacturer: str
    resource: mt.Resource
    start: float

    def reading(self, moment: datetime) -> ReadingIn:
        """The integral of a use rate of (1 - cos) over the day: never negative, so the counter never goes back."""
        seconds = moment.timestamp() - EPOCH
        rate = DAILY_USE[self.resource] / DAY
        value = self.start + rate * (seconds - DAY / (2 * math.pi) * math.sin(2 * math.pi * seconds / DAY))
        point = PointIn(RESOURCE_KEYS[self.resource], round(value, 3), moment)
        return ReadingIn(self.serial_number, point, self.manufacturer)


async def demo_meters(session: AsyncSession) -> list[DemoMeter]:
    """The meters bound to metering points (in demo mode all are the demo's), with an owner to write for."""
    rows = await session.execute(
        select(c.Device.id, c.Device.serial_number, c.Device.manufacturer, mt.MeteringPoint.resource)
        .join(mt.MeteringPoint, mt.MeteringPoint.meter_id == c.Device.id)
        .where(c.Device.organisation_id.is_not(None))
        .order_by(c.Device.id)
    )
    return [
        DemoMeter(serial, manufacturer, resource, 100.0 + 37.0 * (pk % 7))
        for pk, serial, manufacturer, resource in rows
    ]


async def seed_demo_readings(session: AsyncSession, tenants: DemoTenants) -> None:
    """A few days of hourly readings for every demo meter bound to a metering point, through the readings rule."""
    del tenants  # the meters are found through their points, as the simulator finds them
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    meters = await demo_meters(session)
    readings = [
        meter.reading(now - timedelta(hours=hour)) for meter in meters for hour in range(HISTORY_DAYS * 24, 0, -1)
    ]
    if readings:
        await store_readings(session, readings, organisation_id=None, late=timedelta(days=HISTORY_DAYS + 1), now=now)
