"""The event bus: broadcaster (memory or Redis) behind a small, defensive fan-out.

broadcaster hands every subscriber an unbounded queue and, when its listener task dies (Redis
drops), leaves subscribers waiting forever. So the bus holds one broadcaster subscription per
channel and per process, copies events into a bounded queue per subscriber (a slow subscriber is
closed, never allowed to grow memory or hold up others), and watches the listener: when it fails,
every subscriber is closed with BusUnavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from broadcaster import Broadcast

log = logging.getLogger("fleetgraph.bus")

_CLOSED = object()


class BusUnavailable(Exception):
    """The event bus lost its connection; the subscription has ended."""


class SlowSubscriber(Exception):
    """The subscriber did not keep up and was dropped."""


class _Subscriber:
    def __init__(self, channel: str, max_queue: int) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max_queue)
        self.error: Exception | None = None

    def offer(self, payload: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.close(SlowSubscriber("events arrived faster than the subscriber read them"))

    def close(self, error: Exception | None = None) -> None:
        if self.error is None:
            self.error = error
        # Make room so the closing marker always fits.
        while self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(_CLOSED)


class EventBus:
    def __init__(self, url: str, *, max_queue: int = 100) -> None:
        self.url = url
        self.max_queue = max_queue
        self._broadcast = Broadcast(url)
        self._subscribers: dict[str, set[_Subscriber]] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._watch: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None

    @property
    def subscriber_count(self) -> int:
        return sum(len(group) for group in self._subscribers.values())

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
        for task in [*self._pumps.values(), *([self._watch] if self._watch else [])]:
            task.cancel()
        for task in [*self._pumps.values(), *([self._watch] if self._watch else [])]:
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
        log.error("event bus failed: %s", type(exc).__name__)
        self.failure = exc
        for group in list(self._subscribers.values()):
            for subscriber in list(group):
                subscriber.close(BusUnavailable("the event bus connection was lost"))

    async def publish(self, channel: str, payload: dict[str, Any]) -> None:
        await self._broadcast.publish(channel, orjson.dumps(payload).decode())

    async def _pump(self, channel: str, ready: asyncio.Event) -> None:
        async with self._broadcast.subscribe(channel) as source:
            ready.set()
            async for event in source:
                payload = orjson.loads(event.message)
                for subscriber in list(self._subscribers.get(channel, ())):
                    subscriber.offer(payload)

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        """Events of `channel` as dicts, until the consumer stops or the bus fails."""
        if self.failure is not None:
            raise BusUnavailable("the event bus connection was lost")
        subscriber = _Subscriber(channel, self.max_queue)
        self._subscribers.setdefault(channel, set()).add(subscriber)
        try:
            if channel not in self._pumps:
                ready = asyncio.Event()
                pump = asyncio.create_task(self._pump(channel, ready), name=f"bus-{channel}")
                self._pumps[channel] = pump
                waiter = asyncio.create_task(ready.wait())
                await asyncio.wait({pump, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if pump.done():
                    raise BusUnavailable("could not subscribe to the event bus")
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
                pump = self._pumps.pop(channel, None)
                if pump is not None:
                    pump.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pump
