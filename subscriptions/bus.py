"""The event bus: broadcaster (memory or Redis) behind a small, defensive fan-out.

broadcaster hands every subscriber an unbounded queue and, when its listener task dies (Redis
drops), leaves subscribers waiting forever. So the bus holds one broadcaster subscription per
channel and per process, copies events into a bounded queue per subscriber (a slow subscriber is
closed, never allowed to grow memory or hold up others), and watches the listener: when it fails,
every subscriber is closed with BusUnavailable and health reports the bus failed (the process is
meant to be restarted; events may have been lost, so nothing reconnects silently).

For Redis the bus brings its own backend: broadcaster's RedisBackend can miss the first
subscription for good (its reader starts before redis-py records the channel, finds nothing to
read and goes back to sleep), and its reader dies without its next_published() ever noticing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import orjson
from broadcaster import Broadcast, BroadcastBackend, Event
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from graph.errors import ApiError

log = logging.getLogger("fleetgraph.bus")

_CLOSED = object()


class BusUnavailable(ApiError):
    """The event bus lost its connection; the subscription has ended."""

    code = "SERVICE_UNAVAILABLE"


class SlowSubscriber(ApiError):
    """The subscriber did not keep up and was dropped."""

    code = "SLOW_SUBSCRIBER"


class _RedisBackend(BroadcastBackend):
    def __init__(self, url: str) -> None:
        # Publishing may retry on a fresh connection; listening may not: a reconnect would silently
        # skip whatever was published in between, so a dropped listener must end subscriptions.
        self._publisher = aioredis.Redis.from_url(url)
        self._listener_client = aioredis.Redis.from_url(url, retry=Retry(NoBackoff(), 0))
        self._pubsub = self._listener_client.pubsub()
        self._subscribed = asyncio.Event()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._confirmed: dict[str, asyncio.Event] = {}

    async def connect(self) -> None:
        await self._pubsub.connect()
        self._reader = asyncio.create_task(self._read(), name="fleetgraph-bus-redis-reader")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        for closing in (self._pubsub.aclose, self._listener_client.aclose, self._publisher.aclose):
            with contextlib.suppress(Exception):
                await closing()

    async def subscribe(self, channel: str) -> None:
        confirmed = self._confirmed[channel] = asyncio.Event()
        await self._pubsub.subscribe(channel)
        # Only now does redis-py know the channel, so listen() has something to read.
        self._subscribed.set()
        # Events published from Redis's confirmation on reach us: only then is the subscription ready.
        waiter = asyncio.ensure_future(confirmed.wait())
        try:
            await asyncio.wait({waiter, self._reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not confirmed.is_set():
            raise ConnectionError("Redis did not confirm the subscription")

    async def unsubscribe(self, channel: str) -> None:
        self._confirmed.pop(channel, None)
        await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        await self._publisher.publish(channel, message)

    async def next_published(self) -> Event:
        assert self._reader is not None
        getter = asyncio.ensure_future(self._queue.get())
        try:
            await asyncio.wait({getter, self._reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
        error = None if self._reader.cancelled() else self._reader.exception()
        raise error or ConnectionError("the Redis listener stopped")

    async def _read(self) -> None:
        while True:
            await self._subscribed.wait()
            # listen() returns once nothing is subscribed; wait for the next subscription then.
            async for message in self._pubsub.listen():
                if message["type"] == "message":
                    await self._queue.put(Event(channel=message["channel"].decode(), message=message["data"].decode()))
                elif message["type"] == "subscribe" and (confirmed := self._confirmed.get(message["channel"].decode())):
                    confirmed.set()
            self._subscribed.clear()


def _backend(url: str) -> BroadcastBackend | None:
    return _RedisBackend(url) if urlparse(url).scheme in ("redis", "rediss") else None


class _Subscriber:
    def __init__(self, channel: str, max_queue: int) -> None:
        self.channel = channel
        self.max_queue = max_queue
        # One place more than events may take: the closing marker always fits, nothing is dropped.
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max_queue + 1)
        self.error: Exception | None = None
        #: Set once the channel's broadcaster subscription is in place: events from now on arrive.
        self.listening = False
        self.closed = False

    def offer(self, payload: dict[str, Any]) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= self.max_queue:
            self.close(SlowSubscriber("events arrived faster than the subscriber read them"))
        else:
            self.queue.put_nowait(payload)

    def close(self, error: Exception | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        self.error = error
        self.queue.put_nowait(_CLOSED)


class EventBus:
    def __init__(self, url: str, *, max_queue: int = 100) -> None:
        self.url = url
        self.max_queue = max_queue
        backend = _backend(url)
        self._broadcast = Broadcast(backend=backend) if backend is not None else Broadcast(url)
        self._subscribers: dict[str, set[_Subscriber]] = {}
        self._pumps: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._watch: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None

    @property
    def subscriber_count(self) -> int:
        """Subscribers currently listening (events published from now on reach them)."""
        return sum(1 for group in self._subscribers.values() for subscriber in group if subscriber.listening)

    @property
    def healthy(self) -> bool:
        return self._watch is not None and self.failure is None

    async def start(self) -> None:
        await self._broadcast.connect()
        self._watch = asyncio.create_task(self._watch_listener(), name="fleetgraph-bus-watch")

    async def stop(self) -> None:
        for group in list(self._subscribers.values()):
            for subscriber in list(group):
                subscriber.close()
        tasks = [task for task, _ in self._pumps.values()] + ([self._watch] if self._watch else [])
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._pumps.clear()
        self._watch = None
        with contextlib.suppress(Exception):
            await self._broadcast.disconnect()

    async def _watch_listener(self) -> None:
        listener: asyncio.Task[None] = self._broadcast._listener_task  # broadcaster exposes no other handle
        try:
            await asyncio.shield(listener)
        except asyncio.CancelledError:
            if not listener.done():
                raise
        except Exception as exc:  # noqa: BLE001 - whatever killed the listener ends all subscriptions
            self._fail(exc)
            return
        if not listener.cancelled():
            self._fail(RuntimeError("event bus listener stopped"))

    def _fail(self, exc: BaseException) -> None:
        log.error("event bus failed: %s: %s", type(exc).__name__, exc)
        if self.failure is None:
            self.failure = exc
        for group in list(self._subscribers.values()):
            for subscriber in list(group):
                subscriber.close(BusUnavailable("the event bus connection was lost"))

    async def publish(self, channel: str, payload: dict[str, Any]) -> None:
        """Publish after the fact (the change is committed): a failure is logged, not raised."""
        try:
            await self._broadcast.publish(channel, orjson.dumps(payload).decode())
        except Exception as exc:  # noqa: BLE001 - the caller's work is done; the bus is what broke
            self._fail(exc)

    async def _pump(self, channel: str, ready: asyncio.Event) -> None:
        async with self._broadcast.subscribe(channel) as source:
            ready.set()
            async for event in source:
                try:
                    payload = orjson.loads(event.message)
                except orjson.JSONDecodeError:
                    log.warning("ignored a message on %s that is not JSON", channel)
                    continue
                for subscriber in list(self._subscribers.get(channel, ())):
                    subscriber.offer(payload)

    def _pump_ended(self, channel: str, task: asyncio.Task[None]) -> None:
        # Cancelled means no subscriber is left. Anything else leaves this channel's subscribers
        # without events: end them, and let the next subscriber start a new pump.
        if task.cancelled():
            return
        if self._pumps.get(channel, (None,))[0] is task:
            del self._pumps[channel]
        error = task.exception()
        log.error("event bus subscription to %s ended: %r", channel, error)
        for subscriber in list(self._subscribers.get(channel, ())):
            subscriber.close(BusUnavailable("the event bus subscription ended"))

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        """Events of `channel` as dicts, until the consumer stops or the bus fails."""
        if self.failure is not None:
            raise BusUnavailable("the event bus connection was lost")
        subscriber = _Subscriber(channel, self.max_queue)
        # In the group from the start, so that the pump lives while this subscriber waits for it.
        self._subscribers.setdefault(channel, set()).add(subscriber)
        try:
            if channel not in self._pumps:
                ready = asyncio.Event()
                pump = asyncio.create_task(self._pump(channel, ready), name=f"bus-{channel}")
                pump.add_done_callback(lambda task: self._pump_ended(channel, task))
                self._pumps[channel] = (pump, ready)
            pump, ready = self._pumps[channel]
            if not ready.is_set():
                waiter = asyncio.ensure_future(ready.wait())
                try:
                    await asyncio.wait({pump, waiter}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                if not ready.is_set():
                    raise BusUnavailable("could not subscribe to the event bus")
            subscriber.listening = True
            while True:
                item = await subscriber.queue.get()
                if item is _CLOSED:
                    if subscriber.error is not None:
                        raise subscriber.error
                    return
                yield item
        finally:
            group = self._subscribers.get(channel, set())
            group.discard(subscriber)
            if not group:
                self._subscribers.pop(channel, None)
                entry = self._pumps.pop(channel, None)
                if entry is not None:
                    entry[0].cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await entry[0]
