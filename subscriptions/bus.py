"""The event bus: broadcaster (memory or Redis) behind a small, defensive fan-out.

broadcaster hands every subscriber an unbounded queue and, when its listener task dies (Redis
drops), leaves subscribers waiting forever. So the bus holds one broadcaster subscription per
channel and per process, copies events into a bounded queue per subscriber (a slow subscriber is
closed, never allowed to grow memory or hold up others), and watches the listener: when it fails,
every subscriber is closed with BusUnavailable (events may have been lost, so no subscription goes on
silently). Then the bus reconnects by itself, with a delay that doubles from reconnect_initial to
reconnect_max seconds between tries; once connected, new subscriptions work again. Its one subscriber in a
server is the EventStream (subscriptions/stream.py), which reads the event log meanwhile, so what was
published while the bus was away still reaches every subscription.

For Redis the bus brings its own backend: broadcaster's RedisBackend can miss the first
subscription for good (its reader starts before redis-py records the channel, finds nothing to
read and goes back to sleep), and its reader dies without its next_published() ever noticing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, cast
from urllib.parse import urlparse

import orjson
from broadcaster import Broadcast, BroadcastBackend, Event
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from graph.errors import ApiError

log = logging.getLogger("fleetgraph.bus")

#: Seconds a reconnect may take before it counts as failed.
CONNECT_TIMEOUT = 10.0


class BusUnavailable(ApiError):
    """The event bus lost its connection; the subscription has ended."""

    code = "SERVICE_UNAVAILABLE"


class SlowSubscriber(ApiError):
    """The subscriber did not keep up and was dropped (the event stream adds `extensions.cursor` to resume)."""

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
        assert self._reader is not None
        waiter: asyncio.Future[Any] = asyncio.ensure_future(confirmed.wait())
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


#: What a closed BoundedQueue holds last: the reader stops there.
CLOSED = object()


class BoundedQueue:
    """A subscriber's queue: at most `max_queue` items waiting; one more and the subscriber is closed with
    SlowSubscriber, so a slow reader never holds memory or delays the others. One reader. A deque and one
    waiting future instead of asyncio.Queue: handing an event to a thousand subscribers is on the hot path."""

    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self._items: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.error: Exception | None = None
        self.closed = False

    def offer(self, item: Any) -> None:
        if self.closed:
            return
        if len(self._items) >= self.max_queue:
            self.close(SlowSubscriber("Events arrived faster than the subscriber read them."))
        else:
            self._put(item)

    def close(self, error: Exception | None = None) -> None:
        """End the queue after what it holds (the closing marker always fits: nothing is dropped)."""
        if self.closed:
            return
        self.closed = True
        self.error = error
        self._put(CLOSED)

    def _put(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


def leave(groups: dict[str, set[Any]], channel: str, member: Any) -> bool:
    """Take `member` out of its channel's group; True when it was the last one (the group is gone)."""
    group = groups.get(channel, set())
    group.discard(member)
    if group:
        return False
    groups.pop(channel, None)
    return True


class _Subscriber(BoundedQueue):
    def __init__(self, channel: str, max_queue: int) -> None:
        super().__init__(max_queue)
        self.channel = channel
        #: Set once the channel's broadcaster subscription is in place: events from now on arrive.
        self.listening = False


async def _disconnect(broadcast: Broadcast) -> None:
    """Stop a broadcaster's listener and close its backend, also when the listener has died
    (Broadcast.disconnect() re-raises the listener's error then, and leaves the backend open)."""
    listener: asyncio.Task[None] | None = getattr(broadcast, "_listener_task", None)
    if listener is not None and not listener.done():
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
    with contextlib.suppress(Exception):
        await broadcast._backend.disconnect()


class EventBus:
    def __init__(
        self, url: str, *, max_queue: int = 100, reconnect_initial: float = 0.5, reconnect_max: float = 30.0
    ) -> None:
        self.url = url
        self.max_queue = max_queue
        #: Seconds before the first reconnect after a failure; doubled after each failed try, up to reconnect_max.
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self._broadcast = self._new_broadcast()
        self._subscribers: dict[str, set[_Subscriber]] = {}
        self._pumps: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._watch: asyncio.Task[None] | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._stopping = False
        #: What broke the bus; None while it is connected.
        self.failure: BaseException | None = None
        #: Reconnects since start: those that worked, and tries that failed.
        self.reconnects = 0
        self.reconnect_failures = 0

    def _new_broadcast(self) -> Broadcast:
        backend = _backend(self.url)
        return Broadcast(backend=backend) if backend is not None else Broadcast(self.url)

    @property
    def subscriber_count(self) -> int:
        """Subscribers currently listening (events published from now on reach them)."""
        return sum(1 for group in self._subscribers.values() for subscriber in group if subscriber.listening)

    @property
    def healthy(self) -> bool:
        return self._watch is not None and self.failure is None

    async def start(self) -> None:
        self._stopping = False
        await self._broadcast.connect()
        self._watch = asyncio.create_task(self._watch_listener(self._broadcast), name="fleetgraph-bus-watch")

    async def stop(self) -> None:
        self._stopping = True
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._recovery
            self._recovery = None
        for group in list(self._subscribers.values()):
            for subscriber in list(group):
                subscriber.close()
        await self._teardown()

    async def _teardown(self) -> None:
        """End the pumps and the watch, and disconnect the broadcaster (errors of a dead connection are expected)."""
        tasks = [task for task, _ in self._pumps.values()] + ([self._watch] if self._watch else [])
        self._pumps.clear()
        self._watch = None
        for task in tasks:
            task.cancel()
        if tasks:
            # bounded: a pump's unsubscribe on a dead connection must not hold up the recovery
            await asyncio.wait(tasks, timeout=5)
        await _disconnect(self._broadcast)

    async def _recover(self) -> None:
        """Reconnect with a growing delay until it works (or the bus stops)."""
        await self._teardown()
        delay = self.reconnect_initial
        while True:
            await asyncio.sleep(delay)
            broadcast = self._new_broadcast()
            try:
                # bounded: an address that does not answer at all must not stall the retries
                await asyncio.wait_for(broadcast.connect(), CONNECT_TIMEOUT)
            except Exception as exc:
                await _disconnect(broadcast)
                self.reconnect_failures += 1
                delay = min(delay * 2, self.reconnect_max)
                log.warning("event bus reconnect failed: %s: %s; next try in %.1f s", type(exc).__name__, exc, delay)
                continue
            except BaseException:  # cancelled by stop(): leave nothing connected behind
                await _disconnect(broadcast)
                raise
            self._broadcast = broadcast
            self._watch = asyncio.create_task(self._watch_listener(broadcast), name="fleetgraph-bus-watch")
            self.failure = None
            self.reconnects += 1
            log.warning("event bus reconnected")
            return

    async def _watch_listener(self, broadcast: Broadcast) -> None:
        listener: asyncio.Task[None] = broadcast._listener_task  # broadcaster exposes no other handle
        try:
            await asyncio.shield(listener)
        except asyncio.CancelledError:
            if not listener.done():
                raise
        except Exception as exc:
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
        if not self._stopping and (self._recovery is None or self._recovery.done()):
            self._recovery = asyncio.create_task(self._recover(), name="fleetgraph-bus-recovery")

    async def publish(self, channel: str, payload: dict[str, Any]) -> None:
        """Publish after the fact (the change is committed): a failure is logged, not raised."""
        if self.failure is not None:
            log.warning("event bus unavailable: an event on %s was not sent", channel)
            return
        try:
            await self._broadcast.publish(channel, orjson.dumps(payload).decode())
        except Exception as exc:
            self._fail(exc)

    async def _pump(self, channel: str, ready: asyncio.Event) -> None:
        async with self._broadcast.subscribe(channel) as subscription:
            ready.set()
            # broadcaster annotates Subscriber.__aiter__ as possibly None; it is an async generator of events
            source = cast(AsyncIterator[Event], subscription)
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
        if self._pumps.get(channel, (None,))[0] is not task:
            return  # a pump of a broken connection, ended by the recovery: its subscribers are closed already
        del self._pumps[channel]
        error = task.exception()
        log.error("event bus subscription to %s ended: %r", channel, error)
        for subscriber in list(self._subscribers.get(channel, ())):
            subscriber.close(BusUnavailable("the event bus subscription ended"))

    async def subscribe(
        self, channel: str, on_listening: Callable[[], None] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Events of `channel` as dicts, until the consumer stops or the bus fails. `on_listening` is called
        once the subscription is in place (events published from then on arrive)."""
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
            if on_listening is not None:
                on_listening()
            while True:
                item = await subscriber.get()
                if item is CLOSED:
                    if subscriber.error is not None:
                        raise subscriber.error
                    return
                yield item
        finally:
            if leave(self._subscribers, channel, subscriber):
                entry = self._pumps.pop(channel, None)
                if entry is not None:
                    entry[0].cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await entry[0]
