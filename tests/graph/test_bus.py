"""The event bus over a real broadcaster backend: memory always, Redis when
FLEETGRAPH_TEST_BROADCAST_URL points at one. Channels are unique per test, because a Redis may be
shared with other test runs."""

from __future__ import annotations

import asyncio
import os
import uuid
from urllib.parse import urlencode

import pytest
from redis import asyncio as aioredis

from graph.app import create_app
from graph.runtime import Runtime
from subscriptions.bus import BusUnavailable, EventBus, SlowSubscriber
from tests.environment import app_client, make_settings
from tests.graph.helpers import Collector
from tests.waiting import DEADLINE, until

REDIS_URL = os.environ.get("FLEETGRAPH_TEST_BROADCAST_URL", "")
BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param(
        "redis",
        id="redis",
        marks=pytest.mark.skipif(
            not REDIS_URL.startswith(("redis://", "rediss://")),
            reason="set FLEETGRAPH_TEST_BROADCAST_URL=redis://... to test the bus on Redis",
        ),
    ),
]


def bus_url(backend: str) -> tuple[str, str]:
    """The URL for `backend` and a client name that marks this bus's own Redis connections."""
    if backend == "memory":
        return "memory://", ""
    name = f"fleetgraph-test-{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in REDIS_URL else "?"
    return f"{REDIS_URL}{separator}{urlencode({'client_name': name})}", name


@pytest.fixture
async def make_bus():
    buses: list[EventBus] = []

    async def make(backend: str, **kwargs) -> EventBus:
        url, _ = bus_url(backend)
        bus = EventBus(url, **kwargs)
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.stop()


def channel_name() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_publish_subscribe_round_trip(make_bus, backend):
    bus = await make_bus(backend)
    channel, other = channel_name(), channel_name()
    collector = Collector(bus, channel)
    await until(lambda: bus.subscriber_count == 1, "the subscriber to listen")

    await bus.publish(other, {"n": 0})  # another channel: must not arrive
    payloads = [{"n": 1, "text": "Zähler ✓"}, {"n": 2, "nested": {"list": [1, None, "x"]}}, {"n": 3}]
    for payload in payloads:
        await bus.publish(channel, payload)
    await until(lambda: len(collector.received) >= 3, "three events")
    assert collector.received == payloads
    assert collector.ended is None

    await collector.stop()
    await until(lambda: bus.subscriber_count == 0, "the subscriber to be gone")
    assert bus._pumps == {}, "the channel's broadcaster subscription outlived its last subscriber"

    # The channel can be subscribed again after its last subscriber left.
    again = Collector(bus, channel)
    await until(lambda: bus.subscriber_count == 1, "the new subscriber to listen")
    await bus.publish(channel, {"n": 4})
    await until(lambda: again.received, "the event after resubscribing")
    assert again.received == [{"n": 4}]
    await again.stop()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_slow_subscriber_is_dropped_while_a_fast_one_gets_everything(make_bus, backend):
    max_queue = 5
    bus = await make_bus(backend, max_queue=max_queue)
    channel = channel_name()
    fast = Collector(bus, channel)
    # The slow subscriber reads the first event and then nothing more.
    slow = bus.subscribe(channel)
    first = asyncio.create_task(slow.__anext__())
    await until(lambda: bus.subscriber_count == 2, "both subscribers to listen")

    total = 10 * max_queue
    for n in range(total):
        await bus.publish(channel, {"n": n})
        # The fast subscriber keeps up: it has read each event before the next goes out.
        await until(lambda n=n: len(fast.received) == n + 1, f"the fast subscriber to get event {n}")
    assert await asyncio.wait_for(first, DEADLINE) == {"n": 0}
    assert fast.received == [{"n": n} for n in range(total)]
    assert fast.ended is None

    # What the slow subscriber still holds is bounded by its queue, then it ends with SlowSubscriber.
    held = []
    with pytest.raises(SlowSubscriber):
        for _ in range(total):
            held.append(await asyncio.wait_for(slow.__anext__(), DEADLINE))
    # It had read event 0; events 1..max_queue filled its queue; the next one closed it.
    assert held == [{"n": n} for n in range(1, 1 + max_queue)]
    assert bus.subscriber_count == 1, "the slow subscriber is gone once it has read its end"

    # The fast subscriber is unaffected by the slow one's end.
    await bus.publish(channel, {"n": "after"})
    await until(lambda: len(fast.received) == total + 1, "the fast subscriber to get the next event")
    assert fast.received[-1] == {"n": "after"}
    await fast.stop()
    await until(lambda: bus.subscriber_count == 0, "no subscriber left")


class _BrokenEvent:
    """Put into the memory backend's queue: reading its channel fails as a lost connection would."""

    @property
    def channel(self) -> str:
        raise ConnectionError("the memory backend lost its connection")


async def break_bus(bus: EventBus, backend: str, client_name: str) -> None:
    """Make the broadcaster's listener fail from below, as a dropped backend does."""
    if backend == "memory":
        # MemoryBackend.next_published() reads this queue; reading the broken event raises there.
        bus._broadcast._backend._published.put_nowait(_BrokenEvent())
        return
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        # Only this bus's own connection: the Redis may serve other test runs.
        mine = [client for client in await admin.client_list(_type="pubsub") if client.get("name") == client_name]
        assert mine, "the bus's pubsub connection was not found"
        for client in mine:
            await admin.client_kill_filter(_id=client["id"])
    finally:
        await admin.aclose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_listener_failure_ends_bus_subscribers_and_health_reports_degraded(tmp_path, backend):
    """The bus's own subscribers end (the runtime's event stream among them, which then reads the event log:
    test_websocket.py shows subscriptions going on); health says degraded and the server keeps serving."""
    url, client_name = bus_url(backend)
    runtime = Runtime(make_settings(tmp_path, broadcast_url=url, database_url=""))
    runtime.bus.reconnect_initial = 3600.0  # the bus stays away for this test (test_bus_reconnect.py: it comes back)
    await runtime.start(auto_migrate=True)
    app = create_app(runtime.settings, runtime=runtime)
    try:
        async with app_client(app) as http:
            health = await http.get("/health")
            assert health.status_code == 200, health.text
            assert health.json()["checks"]["eventBus"] == "ok"

            bus = runtime.bus
            channels = [channel_name(), channel_name()]
            collectors = [Collector(bus, channels[0]), Collector(bus, channels[0]), Collector(bus, channels[1])]
            # and the runtime's event stream, the bus's subscriber in every server
            await until(lambda: bus.subscriber_count == 4, "three subscribers and the stream to listen")
            await bus.publish(channels[0], {"n": 1})
            await until(lambda: all(c.received for c in collectors[:2]), "the event before the failure")

            await break_bus(bus, backend, client_name)

            # Every subscriber ends with BusUnavailable instead of waiting forever.
            await asyncio.wait_for(asyncio.gather(*(c.task for c in collectors)), DEADLINE)
            for collector in collectors:
                assert isinstance(collector.ended, BusUnavailable), collector.ended
                assert collector.ended.extensions["code"] == "SERVICE_UNAVAILABLE"
            assert bus.subscriber_count == 0
            assert not bus.healthy

            # A new subscription is refused at once rather than left hanging.
            with pytest.raises(BusUnavailable):
                await asyncio.wait_for(bus.subscribe(channels[0]).__anext__(), DEADLINE)

            health = await http.get("/health")
            assert health.status_code == 200, health.text
            assert health.json()["status"] == "degraded"
            assert health.json()["checks"] == {"database": "ok", "eventBus": "degraded"}
    finally:
        await runtime.stop()
