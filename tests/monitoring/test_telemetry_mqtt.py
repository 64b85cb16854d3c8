"""Telemetry over MQTT against the real Mosquitto at 127.0.0.1:1883: stored through the one rule, bad messages
dropped and logged by topic only, the loop goes on. Each test uses its own topic root and share group."""

from __future__ import annotations

import logging
import uuid

import aiomqtt
from sqlalchemy import select

from graph.relay import to_global_id
from models import telemetry as tel
from resolvers.monitoring.workers.telemetry_mqtt import TelemetrySubscriber
from tests.factories import add_location, add_location_device
from tests.mqtt import BROKER, BROKER_URL, connected, needs_broker
from tests.waiting import until

pytestmark = needs_broker


def subscriber(runtime, root: str):
    return connected(TelemetrySubscriber(runtime, BROKER_URL, root=root, group=root))


async def publish(topic: str, *payloads: bytes) -> None:
    async with aiomqtt.Client(*BROKER, identifier=f"test-device-{uuid.uuid4().hex[:8]}") as client:
        for payload in payloads:
            await client.publish(topic, payload, qos=1)


async def seed(runtime, world) -> tuple[str, str]:
    async with runtime.session_factory() as session, session.begin():
        plant = await add_location(session, world.organisations["a"].id, "Plant")
        pump = await add_location_device(session, plant.id, "Pump", "10.0.0.2")
        return to_global_id("Location", plant.id), to_global_id("LocationDevice", pump.id)


async def stored(runtime) -> list[tuple[str, float]]:
    async with runtime.session_factory() as session:
        rows = await session.execute(
            select(tel.TelemetrySeries.key, tel.TelemetryPoint.value)
            .join(tel.TelemetrySeries, tel.TelemetrySeries.id == tel.TelemetryPoint.series_id)
            .order_by(tel.TelemetrySeries.key, tel.TelemetryPoint.value)
        )
        return [tuple(row) for row in rows]


async def test_messages_are_stored_and_bad_ones_dropped_by_topic_only(runtime, world, caplog):
    location, device = await seed(runtime, world)
    root = f"fgtest-{uuid.uuid4().hex[:12]}"
    topic = f"{root}/locations/{location}/telemetry"
    caplog.set_level(logging.WARNING, logger="fleetgraph.monitoring.mqtt")
    bad = [
        (topic, b"SECRET-not-json"),
        (topic, b'{"values": {"SECRET key!": 1}}'),
        (topic, b'{"values": {"level": "SECRET"}}'),
        (topic, b'{"points": [{"key": "k", "value": 1, "deviceId": "SECRET"}]}'),
        (f"{root}/locations/{to_global_id('Location', 999_999)}/telemetry", b'{"values": {"level": 1}}'),
        (f"{root}/locations/SECRET/telemetry", b'{"values": {"level": 1}}'),
    ]
    async with subscriber(runtime, root) as member:
        for where, payload in bad:
            await publish(where, payload)
        await publish(topic, b'{"values": {"level": 1.5}}')
        await publish(
            topic, b'{"points": [{"key": "temperature", "value": 70, "deviceId": "' + device.encode() + b'"}]}'
        )
        await until(lambda: member.recorded == 2 and member.dropped == len(bad), "the messages")
        assert member.state == "connected"
    assert await stored(runtime) == [("level", 1.5), ("temperature", 70.0)]
    dropped = [rec.getMessage() for rec in caplog.records if "dropped" in rec.getMessage()]
    assert len(dropped) == len(bad)
    # logged by topic and reason: the payload never reaches the log
    assert all("SECRET" not in line.split("/telemetry: ", 1)[1] for line in dropped), dropped
