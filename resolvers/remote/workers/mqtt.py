"""Router heartbeats over MQTT (FLEETGRAPH_MQTT_URL): each server process subscribes to
`fleetgraph/routers/+/heartbeat` as a member of the shared subscription group `fleetgraph`
(MQTT v5 `$share/fleetgraph/...`), so with several processes the broker hands every message to one of them.

Trust model: the broker authenticates the routers, and its topic ACL lets each router publish only under
its own common name (`pattern write fleetgraph/routers/%u/heartbeat` in Mosquitto, see README). The topic is therefore
taken as the router's identity; there is no tenant context (routers.rules.trusted_heartbeat).

A bad message (not JSON, wrong types, out-of-range values, unknown router) is logged by topic only and
dropped: a payload is device input and may hold anything, so it never reaches the log, and one bad router
must not stop the others. When the broker goes away the loop reconnects with bounded exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import math
import ssl
import uuid
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from graph.errors import DomainError
from graph.workers import transaction
from resolvers.remote.routers.rules import Status, trusted_heartbeat

log = logging.getLogger("fleetgraph.remote.mqtt")

TOPIC_ROOT = "fleetgraph"
SHARE_GROUP = "fleetgraph"
#: Heartbeat payloads are a few hundred bytes; anything far larger is not one.
MAX_PAYLOAD = 4096
NUMBERS = {
    "cpuLoad": "cpu_load",
    "memoryUse": "memory_use",
    "signalStrength": "signal_strength",
    "linkSpeed": "link_speed",
}


class BadHeartbeat(ValueError):
    """Why a message was dropped (logged with its topic; never contains the payload)."""


@dataclass(frozen=True)
class Broker:
    hostname: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_url(url: str) -> Broker:
    """mqtt://host[:1883] or mqtts://user:password@host[:8883]."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError("FLEETGRAPH_MQTT_URL must look like mqtt://host:1883 or mqtts://user:password@host:8883")
    tls = parts.scheme == "mqtts"
    return Broker(
        hostname=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def connect(broker: Broker, identifier_prefix: str = "fleetgraph") -> Any:
    """An aiomqtt client for `broker` with the settings every server-side MQTT worker uses."""
    import aiomqtt

    return aiomqtt.Client(
        broker.hostname,
        broker.port,
        username=broker.username,
        password=broker.password,
        # a fresh identity per process: members of the group, not one session taken over by each
        identifier=f"{identifier_prefix}-{uuid.uuid4().hex[:12]}",
        protocol=aiomqtt.ProtocolVersion.V5,
        tls_context=ssl.create_default_context() if broker.tls else None,
        keepalive=30,
        timeout=10,
        # a burst beyond this is dropped by the client rather than growing memory
        max_queued_incoming_messages=10_000,
    )


async def subscribe_checked(client: Any, *topics: str) -> None:
    """Subscribe at QoS 1; a refused subscription (the broker's topic ACL) is a connection error."""
    import aiomqtt

    for topic in topics:
        granted = await client.subscribe(topic, qos=1)
        if any(getattr(code, "is_failure", False) for code in granted or ()):
            raise aiomqtt.MqttError(f"subscription to {topic} refused (topic ACL?)")


def common_name_of(topic: str, root: str = TOPIC_ROOT) -> str:
    prefix, suffix = f"{root}/routers/", "/heartbeat"
    if not (topic.startswith(prefix) and topic.endswith(suffix)):
        raise BadHeartbeat("not a heartbeat topic")
    name = topic[len(prefix) : -len(suffix)]
    if not name or "/" in name:
        raise BadHeartbeat("not a heartbeat topic")
    return name


def parse_status(payload: bytes) -> Status:
    """The optional status fields of a heartbeat; an empty payload is a heartbeat without status.
    Unknown keys are ignored (newer firmware may send more); ranges are checked by the shared core."""
    if len(payload) > MAX_PAYLOAD:
        raise BadHeartbeat("payload too large")
    if not payload.strip():
        return Status()
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadHeartbeat("payload is not JSON") from exc
    if not isinstance(data, dict):
        raise BadHeartbeat("payload is not a JSON object")
    status = Status()
    for key, attribute in NUMBERS.items():
        value = data.get(key)
        if value is None:
            continue
        # bool is an int in Python, but `true` is no CPU load
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise BadHeartbeat(f"{key} is not a number")
        setattr(status, attribute, float(value))
    modem_state = data.get("modemState")
    if modem_state is not None and not isinstance(modem_state, str):
        raise BadHeartbeat("modemState is not a string")
    status.modem_state = modem_state
    lan_subnet = data.get("lanSubnet")  # issue 18: checked (CIDR) by the shared core
    if lan_subnet is not None and not isinstance(lan_subnet, str):
        raise BadHeartbeat("lanSubnet is not a string")
    status.lan_subnet = lan_subnet
    _parse_condition(data, status)
    return status


def _parse_condition(data: dict, status: Status) -> None:
    """Issue 18: "fault": {"code": ..., "message": ...} or null, "standstill": true/false."""
    fault = data.get("fault")
    if fault is not None:
        if not isinstance(fault, dict) or not isinstance(fault.get("code"), str):
            raise BadHeartbeat("fault is not an object with a code")
        if not isinstance(fault.get("message", ""), str | None):
            raise BadHeartbeat("fault.message is not a string")
        status.fault_code, status.fault_message = fault["code"], fault.get("message")
    standstill = data.get("standstill")
    if standstill is not None and not isinstance(standstill, bool):
        raise BadHeartbeat("standstill is not a boolean")
    status.standstill = standstill


class HeartbeatSubscriber:
    """One process's member of the shared subscription: started and stopped with the app (graph.runtime).

    `state` is what /health reports: connecting, connected, reconnecting (or off when no URL is set).
    """

    name = "mqtt"

    def __init__(
        self,
        runtime: Any,
        url: str,
        *,
        root: str = TOPIC_ROOT,
        group: str = SHARE_GROUP,
        min_backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self.runtime = runtime
        self.broker = parse_url(url)
        self.root = root
        self.topic = f"$share/{group}/{root}/routers/+/heartbeat"
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.state = "connecting"
        #: Counters for /health-style introspection and tests: messages recorded and dropped.
        self.recorded = 0
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mqtt heartbeats")

    async def stop(self) -> None:
        if self._task is None:
            return
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.state = "off"

    async def _run(self) -> None:
        import aiomqtt

        backoff = self.min_backoff
        while True:
            try:
                async with connect(self.broker) as client:
                    await subscribe_checked(client, self.topic)
                    self.state = "connected"
                    backoff = self.min_backoff
                    log.info("MQTT: subscribed to %s at %s:%d", self.topic, self.broker.hostname, self.broker.port)
                    async for message in client.messages:
                        await self.handle(str(message.topic), message.payload)
            except aiomqtt.MqttError as exc:
                log.warning("MQTT: connection lost or refused (%s); reconnecting in %.1f s", exc, backoff)
            self.state = "reconnecting"
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def handle(self, topic: str, payload: Any) -> int | None:
        """Record one message; returns the router's id, or None when the message was dropped."""
        try:
            if not isinstance(payload, bytes | bytearray):
                raise BadHeartbeat("payload is not bytes")
            common_name = common_name_of(topic, self.root)
            status = parse_status(bytes(payload))
            router_id = await self._record(common_name, status)
        except BadHeartbeat as exc:
            self.dropped += 1
            log.warning("MQTT: dropped a message on %s: %s", topic, exc)
            return None
        except DomainError as exc:
            self.dropped += 1
            # the rules raise with a member of an error-code enum; DomainError types its code as `object`
            code = cast(enum.Enum, exc.code)
            log.warning("MQTT: dropped a message on %s: %s (%s)", topic, exc.message, code.name)
            return None
        except Exception:
            self.dropped += 1
            log.exception("MQTT: could not record a heartbeat on %s", topic)
            return None
        self.recorded += 1
        return router_id

    async def _record(self, common_name: str, status: Status) -> int:
        async with transaction(self.runtime) as session:  # events go out after the commit, as for a mutation
            router, _ = await trusted_heartbeat(session, common_name, status)
            return router.id
