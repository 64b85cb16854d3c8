"""The MQTT router link of data monitoring (FLEETGRAPH_MQTT_URL): one client per server process that

- publishes configurations on `fleetgraph/routers/{commonName}/config` (QoS 1) and discovery requests on
  `fleetgraph/routers/{commonName}/discovery`;
- receives acknowledgements on `fleetgraph/routers/+/config/ack` as a member of the shared subscription group
  (like the heartbeats: resolvers/remote/workers/mqtt.py), so each is applied once whichever process sent it:
  the acknowledgement is applied in the database (upload.apply_ack), not in the sender's memory;
- receives discovery answers on its own reply topic `fleetgraph/replies/{process}/discovery`, because the
  mutation that waits for the answer runs in this process.

The broker's ACL lets a router publish only under its own common name; the topic is the router's identity.
A bad message is dropped and logged with its topic only (payloads may hold anything, and configurations hold
secrets). When the broker goes away the loop reconnects with bounded exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from graph.workers import transaction
from resolvers.monitoring.datalog import link
from resolvers.monitoring.datalog.upload import apply_ack
from resolvers.remote.workers.mqtt import SHARE_GROUP, TOPIC_ROOT, connect, parse_url, subscribe_checked

log = logging.getLogger("fleetgraph.monitoring.datalog")

#: Acknowledgements and discovery answers are small; a discovery answer may list many nodes.
MAX_ACK = 4096
MAX_ANSWER = 1024 * 1024


class BadMessage(ValueError):
    """Why a message was dropped (logged with its topic; never contains the payload)."""


def parse_ack(payload: bytes) -> tuple[str, bool, str]:
    if len(payload) > MAX_ACK:
        raise BadMessage("payload too large")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadMessage("payload is not JSON") from exc
    if not isinstance(data, dict):
        raise BadMessage("payload is not a JSON object")
    request_id, ok, reason = data.get("requestId"), data.get("ok"), data.get("reason", "")
    if not isinstance(request_id, str) or not 1 <= len(request_id) <= 64:
        raise BadMessage("requestId is not a request ID")
    if not isinstance(ok, bool):
        raise BadMessage("ok is not a boolean")
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise BadMessage("reason is not a string")
    return request_id, ok, reason.replace("\x00", "")


class MqttRouterLink:
    """Started and stopped with the app (graph.runtime); registered as the runtime's router link."""

    name = link.NAME

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
        self.ack_topic = f"$share/{group}/{root}/routers/+/config/ack"
        self.reply_topic = f"{root}/replies/{uuid.uuid4().hex}/discovery"
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.state = "connecting"
        self.applied = 0
        self.dropped = 0
        self._client: Any = None
        self._waiting: dict[str, asyncio.Future[dict]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            link.register(self.runtime, self)
            self._task = asyncio.create_task(self._run(), name="mqtt datalog link")

    async def stop(self) -> None:
        link.unregister(self.runtime, self)
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
                async with connect(self.broker, "fleetgraph-datalog") as client:
                    await subscribe_checked(client, self.ack_topic, self.reply_topic)
                    self._client, self.state, backoff = client, "connected", self.min_backoff
                    async for message in client.messages:
                        await self.handle(str(message.topic), message.payload)
            except aiomqtt.MqttError as exc:
                log.warning("MQTT datalog link: connection lost or refused (%s); reconnecting in %.1f s", exc, backoff)
            self._client, self.state = None, "reconnecting"
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _publish(self, topic: str, document: dict) -> None:
        import aiomqtt

        client = self._client
        if client is None:
            raise link.LinkUnavailable("the MQTT broker is not connected")
        try:
            await client.publish(topic, json.dumps(document, separators=(",", ":")), qos=1)
        except aiomqtt.MqttError as exc:
            raise link.LinkUnavailable("the MQTT broker did not take the message") from exc

    async def send_config(self, common_name: str, request_id: str, document: dict) -> None:
        # the acknowledgement's topic: shared by the group, so any process applies it
        reply_to = f"{self.root}/routers/{common_name}/config/ack"
        await self._publish(f"{self.root}/routers/{common_name}/config", {**document, "replyTo": reply_to})

    async def discover(self, common_name: str, request: dict, timeout: float) -> dict:
        request_id = uuid.uuid4().hex
        waiting: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiting
        try:
            message = {**request, "requestId": request_id, "replyTo": self.reply_topic}
            await self._publish(f"{self.root}/routers/{common_name}/discovery", message)
            del message
            try:
                return await asyncio.wait_for(waiting, timeout)
            except TimeoutError:
                raise link.DiscoveryTimeout() from None
        finally:
            self._waiting.pop(request_id, None)

    async def handle(self, topic: str, payload: Any) -> None:
        try:
            if not isinstance(payload, bytes | bytearray):
                raise BadMessage("payload is not bytes")
            if topic == self.reply_topic:
                self._answer(bytes(payload))
                return
            common_name = self._ack_router(topic)
            request_id, ok, reason = parse_ack(bytes(payload))
            async with transaction(self.runtime) as session:
                applied = await apply_ack(session, common_name, request_id, ok, reason)
            self.applied += applied
        except BadMessage as exc:
            self.dropped += 1
            log.warning("MQTT datalog link: dropped a message on %s: %s", topic, exc)
        except Exception:
            self.dropped += 1
            log.exception("MQTT datalog link: could not handle a message on %s", topic)

    def _ack_router(self, topic: str) -> str:
        prefix, suffix = f"{self.root}/routers/", "/config/ack"
        name = topic[len(prefix) : -len(suffix)] if topic.startswith(prefix) and topic.endswith(suffix) else ""
        if not name or "/" in name:
            raise BadMessage("not an acknowledgement topic")
        return name

    def _answer(self, payload: bytes) -> None:
        if len(payload) > MAX_ANSWER:
            raise BadMessage("payload too large")
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadMessage("payload is not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("requestId"), str):
            raise BadMessage("payload has no requestId")
        waiting = self._waiting.get(data["requestId"])
        if waiting is not None and not waiting.done():
            waiting.set_result(data)
