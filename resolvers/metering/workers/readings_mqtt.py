"""Meter readings over MQTT (FLEETGRAPH_MQTT_URL): each server process subscribes to
`fleetgraph/meters/+/readings` in the shared subscription group, so that with several processes the broker hands
every message to one of them. The topic names the meter by its serial number (what a network server knows);
the payload is JSON in telemetry's shapes (`{"values": {"volume": 12.345}, "ts": …}` or `{"points": [...]}`).

As for telemetry, the broker authenticates the senders and its topic ACL decides who may publish for which
meter: the topic is taken as the meter's identity. A serial number that is no owned meter, or that several
manufacturers' meters share, drops the message (name those meters over HTTP, where a reading may carry the
manufacturer). The connection loop is the telemetry subscriber's; a bad message is dropped and logged by topic
only, never its payload."""

from __future__ import annotations

import logging
from typing import Any

from graph.workers import transaction
from resolvers.metering.readings.gateway import topic_readings
from resolvers.metering.readings.ingest import MAX_SERIAL, store_readings
from resolvers.monitoring.telemetry.formats import BadBody, json_points
from resolvers.monitoring.telemetry.rules import late_window
from resolvers.monitoring.workers.telemetry_mqtt import TelemetrySubscriber

log = logging.getLogger("fleetgraph.metering.mqtt")


def serial_of(topic: str, root: str) -> str:
    prefix, suffix = f"{root}/meters/", "/readings"
    if not (topic.startswith(prefix) and topic.endswith(suffix)):
        raise BadBody("not a readings topic")
    serial = topic[len(prefix) : -len(suffix)]
    if not serial or "/" in serial or len(serial) > MAX_SERIAL:
        raise BadBody("not a serial number in the topic")
    return serial


class ReadingsSubscriber(TelemetrySubscriber):
    """One process's member of the shared readings subscription: started and stopped with the app."""

    name = "mqtt-readings"
    kind = "readings"
    log = log

    def __init__(self, runtime: Any, url: str, **options: Any) -> None:
        super().__init__(runtime, url, **options)
        self.topic = self.topic.replace("/locations/+/telemetry", "/meters/+/readings")

    async def store(self, topic: str, payload: bytes) -> int:
        """The readings of the topic's meter, through the readings rule; raises BadBody or DomainError."""
        readings = topic_readings(serial_of(topic, self.root), json_points(payload))
        async with transaction(self.runtime) as session:
            stored = await store_readings(
                session, readings, organisation_id=None, late=late_window(self.runtime.settings)
            )
        return len(stored)
