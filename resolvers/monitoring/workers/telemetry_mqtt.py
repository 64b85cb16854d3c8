"""Telemetry over MQTT (FLEETGRAPH_MQTT_URL): each server process subscribes to
`fleetgraph/locations/+/telemetry` in the shared subscription group (`$share/fleetgraph/...`), so that with
several processes the broker hands every message to one of them.

The topic names the location by its global ID (as the API shows it); the payload is JSON in the shapes POST
/telemetry takes (formats.json_points). As for heartbeats, the broker authenticates the senders and its topic
ACL decides who may publish for which location; the topic is taken as the location's identity.

The connection loop (bounded exponential backoff, fresh client identity per process) is the heartbeat
subscriber's: this class only changes the topic and what one message does. A bad message (not JSON, bad points,
unknown location) is dropped and logged by topic only: its payload never reaches the log.
"""

from __future__ import annotations

import enum
import logging
from typing import Any, cast

from sqlalchemy import select

from graph.errors import DomainError, problems_of
from graph.relay import decode_id
from graph.workers import transaction
from models import remote as r
from resolvers.monitoring.telemetry.formats import BadBody, json_points
from resolvers.monitoring.telemetry.rules import late_window, store_points
from resolvers.monitoring.telemetry.serving import MAX_BODY_BYTES
from resolvers.remote.workers.mqtt import SHARE_GROUP, TOPIC_ROOT, HeartbeatSubscriber

log = logging.getLogger("fleetgraph.monitoring.mqtt")


def location_of(topic: str, root: str = TOPIC_ROOT) -> int:
    prefix, suffix = f"{root}/locations/", "/telemetry"
    if not (topic.startswith(prefix) and topic.endswith(suffix)):
        raise BadBody("not a telemetry topic")
    pk = decode_id(topic[len(prefix) : -len(suffix)], "Location")
    if pk is None:
        raise BadBody("not a location ID in the topic")
    return pk


class TelemetrySubscriber(HeartbeatSubscriber):
    """One process's member of the shared telemetry subscription: started and stopped with the app."""

    name = "mqtt-telemetry"

    def __init__(self, runtime: Any, url: str, *, root: str = TOPIC_ROOT, group: str = SHARE_GROUP, **options: Any):
        super().__init__(runtime, url, root=root, group=group, **options)
        self.topic = f"$share/{group}/{root}/locations/+/telemetry"

    #: What a message is, in the log lines of dropped ones; and the logger (a subclass stores other messages).
    kind = "telemetry"
    log = log

    async def handle(self, topic: str, payload: Any) -> int | None:
        """Store one message; returns how many points, or None when the message was dropped."""
        try:
            if not isinstance(payload, bytes | bytearray) or len(payload) > MAX_BODY_BYTES:
                raise BadBody("payload is not bytes or too large")
            stored = await self.store(topic, bytes(payload))
        except BadBody as exc:
            self.dropped += 1
            self.log.warning("MQTT: dropped a %s message on %s: %s", self.kind, topic, exc)
            return None
        except DomainError as exc:
            self.dropped += 1
            codes = sorted({cast(enum.Enum, problem.code).name for problem in problems_of(exc)})
            self.log.warning(
                "MQTT: dropped a %s message on %s: %d bad points (%s)",
                self.kind,
                topic,
                len(problems_of(exc)),
                ", ".join(codes),
            )
            return None
        except Exception:
            self.dropped += 1
            self.log.exception("MQTT: could not store a %s message on %s", self.kind, topic)
            return None
        self.recorded += 1
        return stored

    async def store(self, topic: str, payload: bytes) -> int:
        """The points of the topic's location, through the telemetry rule; raises BadBody or DomainError."""
        location_pk = location_of(topic, self.root)
        points = json_points(payload)
        async with transaction(self.runtime) as session:
            location = await session.scalar(select(r.Location).where(r.Location.id == location_pk))
            if location is None:
                raise BadBody("unknown location")
            stored = await store_points(session, None, location, points, late=late_window(self.runtime.settings))
        return len(stored)
