"""Demo telemetry: a seeded day of history at one-minute steps, and the simulator's live points through the
ingest rule; the temperature wave crosses the alarm demo's thresholds (above 80 for about a minute, then
below 75) every five minutes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from graph.composition import DEMO
from graph.demo import seed_demo
from graph.relay import to_global_id
from models import identity as m
from models import remote as r
from models import telemetry as tel
from models.base import utcnow
from resolvers.monitoring.telemetry.demo import TEMPERATURE_PERIOD, temperature
from resolvers.monitoring.workers.telemetry_simulator import TelemetrySimulator
from tests.factories import issue_token

HISTORY = """query($id: ID!, $device: ID, $from: DateTime!, $to: DateTime!) {
  telemetryHistory(locationId: $id, deviceId: $device, key: "temperature", from: $from, to: $to,
    aggregation: MAX, bucketSeconds: 3600) { values } }"""
LATEST = """query($id: ID!) { telemetryLatest(locationId: $id) { nodes { key unit lastValue device { name } } } }"""


def test_the_temperature_wave_crosses_the_alarm_thresholds():
    start = utcnow().replace(second=0, microsecond=0)
    samples = [temperature(start + timedelta(seconds=s)) for s in range(int(TEMPERATURE_PERIOD))]
    above = sum(1 for value in samples if value > 80)
    assert 45 <= above <= 75  # about a minute of each five
    assert min(samples) >= 60 and max(samples) <= 90 and min(samples) < 75


async def test_demo_history_and_simulated_points(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    async with runtime.session_factory() as session:
        locations = {row.name: row for row in await session.scalars(select(r.Location))}
        device = await session.scalar(select(r.LocationDevice).where(r.LocationDevice.name == "HMI Pumpe 1"))
        counts = dict(
            (
                await session.execute(
                    select(tel.TelemetrySeries.key, func.count())
                    .join(tel.TelemetryPoint, tel.TelemetryPoint.series_id == tel.TelemetrySeries.id)
                    .where(tel.TelemetrySeries.location_id.is_not(None))  # the locations' (meters have series too)
                    .group_by(tel.TelemetrySeries.key)
                )
            ).all()
        )
    assert counts == {"temperature": 1440, "pressure": 2880, "flow": 2880}
    async with runtime.session_factory() as session, session.begin():
        admin = await session.scalar(select(m.User).where(m.User.email == "demo@integra-metering.com"))
        token = await issue_token(session, admin)
    north = to_global_id("Location", locations["Pumpstation Nord"].id)
    now = utcnow()
    period = {"from": (now - timedelta(hours=25)).isoformat(), "to": now.isoformat()}
    result = await gql(HISTORY, {"id": north, "device": to_global_id("LocationDevice", device.id), **period}, token)
    assert len(result["data"]["telemetryHistory"]["values"]) in (24, 25)
    # each whole hour peaks above 80 (the first and last buckets hold only part of an hour: maybe no peak)
    assert all(80 < value <= 90 for value in result["data"]["telemetryHistory"]["values"][1:-1])

    stored = await TelemetrySimulator(runtime).run_round()
    assert stored == 5  # Nord: pressure, flow, temperature; Süd: pressure, flow
    nodes = (await gql(LATEST, {"id": north}, token))["data"]["telemetryLatest"]["nodes"]
    assert {(n["key"], n["unit"], (n["device"] or {}).get("name")) for n in nodes} == {
        ("flow", "m³/h", None),
        ("pressure", "bar", None),
        ("temperature", "°C", "HMI Pumpe 1"),
    }
    assert all(1.2 <= n["lastValue"] <= 3.0 for n in nodes if n["key"] == "pressure")
