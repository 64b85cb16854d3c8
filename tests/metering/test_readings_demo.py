"""Demo readings: the seeded days of hourly history and the simulator's live readings of every meter bound to a
metering point go through the readings rule, count up and join up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models import telemetry as tel
from models.base import utcnow
from resolvers.metering.readings.demo import HISTORY_DAYS, demo_meters, seed_demo_readings
from resolvers.metering.workers.readings_simulator import ReadingsSimulator
from tests.metering.readings_helpers import seed_meters


async def test_seeded_history_and_live_readings_of_bound_meters(runtime, world):
    seeded = await seed_meters(runtime, world)  # three meters, each bound to a point
    async with runtime.session_factory() as session, session.begin():
        await seed_demo_readings(session, None)  # type: ignore[arg-type]
    async with runtime.session_factory() as session:
        per_meter = dict(
            (
                await session.execute(
                    select(tel.TelemetrySeries.meter_id, func.count())
                    .join(tel.TelemetryPoint, tel.TelemetryPoint.series_id == tel.TelemetrySeries.id)
                    .group_by(tel.TelemetrySeries.meter_id)
                )
            ).all()
        )
        seeded_last = await session.scalar(
            select(tel.TelemetrySeries.last_value).where(tel.TelemetrySeries.meter_id == seeded.meters["33100050"])
        )
    assert per_meter == {pk: HISTORY_DAYS * 24 for pk in seeded.meters.values()}

    assert await ReadingsSimulator(runtime).run_round() == 3
    async with runtime.session_factory() as session:
        live_last = await session.scalar(
            select(tel.TelemetrySeries.last_value).where(tel.TelemetrySeries.meter_id == seeded.meters["33100050"])
        )
        meters = await demo_meters(session)
    # a cold-water meter: up by less than a day's 0.15 m³ per hour, never back
    assert seeded_last is not None and live_last is not None and 0 <= live_last - seeded_last < 0.15
    now = utcnow()
    values = [meters[0].reading(now + timedelta(minutes=minute)).point.value for minute in range(0, 24 * 60, 7)]
    assert values == sorted(values) and values[-1] > values[0]
