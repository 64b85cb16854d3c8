"""Meter readings over MQTT against the real Mosquitto at 127.0.0.1:1883: the topic names the meter by serial
number, readings are stored through the one rule (all or nothing per message, last write wins), bad messages are
dropped and logged by topic only. Each test uses its own topic root and share group."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import aiomqtt
import orjson
from sqlalchemy import select

from models import telemetry as tel
from models.base import utcnow
from resolvers.metering.workers.readings_mqtt import ReadingsSubscriber
from tests.factories import snapshot
from tests.metering.readings_helpers import seed_meters
from tests.mqtt import BROKER, BROKER_URL, connected, needs_broker
from tests.waiting import until

pytestmark = needs_broker


def subscriber(runtime, root: str):
    return connected(ReadingsSubscriber(runtime, BROKER_URL, root=root, group=root))


async def publish(*messages: tuple[str, bytes]) -> None:
    async with aiomqtt.Client(*BROKER, identifier=f"test-lns-{uuid.uuid4().hex[:8]}") as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1)


async def stored(runtime) -> list[tuple]:
    async with runtime.session_factory() as session:
        series = tel.TelemetrySeries
        rows = await session.execute(
            select(series.meter_id, series.key, tel.TelemetryPoint.value)
            .join(series, series.id == tel.TelemetryPoint.series_id)
            .order_by(series.meter_id, series.key, tel.TelemetryPoint.at)
        )
        return [tuple(row) for row in rows]


async def test_readings_are_stored_and_bad_messages_dropped_by_topic_only(runtime, world, caplog):
    seeded = await seed_meters(runtime, world)
    root = f"fgtest-{uuid.uuid4().hex[:12]}"
    caplog.set_level(logging.WARNING, logger="fleetgraph.metering.mqtt")
    topic = f"{root}/meters/33100050/readings"
    bad = [
        (topic, b"SECRET-not-json"),
        (topic, b'{"values": {"volume": "SECRET"}}'),
        # one bad reading refuses the whole message
        (topic, b'{"points": [{"key": "volume", "value": 1}, {"key": "SECRET key!", "value": 2}]}'),
        (topic, b'{"points": [{"key": "volume", "value": 1, "deviceId": "SECRET"}]}'),
        (f"{root}/meters/99999999/readings", b'{"values": {"volume": 1}}'),
        (f"{root}/meters//readings", b'{"values": {"volume": 1}}'),
    ]
    async with subscriber(runtime, root) as member:
        before = await snapshot(runtime)
        await publish(*bad)
        await until(lambda: member.dropped == len(bad), "the bad messages")
        assert await snapshot(runtime) == before
        ts = int((utcnow() - timedelta(minutes=2)).timestamp() * 1000)
        await publish(
            (topic, orjson.dumps({"ts": ts, "values": {"volume": 12.5}})),
            (topic, orjson.dumps({"ts": ts, "values": {"volume": 12.75}})),
            (f"{root}/meters/44100050/readings", b'{"values": {"volume": 7, "battery": 3.6}}'),
        )
        await until(lambda: member.recorded == 3, "the readings")
        assert member.state == "connected"
    one, b_meter = seeded.meters["33100050"], seeded.meters["44100050"]
    # the second message at the same time overwrote the first (last write wins)
    assert await stored(runtime) == [(one, "volume", 12.75), (b_meter, "battery", 3.6), (b_meter, "volume", 7.0)]
    dropped = [rec.getMessage() for rec in caplog.records if "dropped" in rec.getMessage()]
    assert len(dropped) == len(bad)
    assert all("SECRET" not in line.split("/readings: ", 1)[-1] for line in dropped), dropped
