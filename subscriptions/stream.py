"""The live event stream of one server process: every logged event once, in cursor order, to the
subscribers of its channel, whether the bus is up or not.

The event log (subscriptions/log.py) is the truth; the bus only makes delivery fast. One task listens on
the bus: an event that follows the last one delivered goes out at once, without a query; a gap (another
process's commit published late, a commit whose publication was lost) is filled from the log first. A
second task reads the log on a timer: every `poll_seconds` while the bus is away (subscribers stay, nothing
committed is lost), ten times slower while it is up (a safety net). Both deliver under one lock and skip
what is already delivered, so each event goes out exactly once.

A subscriber gets a bounded queue: one that falls behind is ended with SlowSubscriber carrying its last
cursor, never allowed to hold memory or delay the others. With `after` it first gets what it missed from
the log, then the live events, with no gap and no duplicate at the seam.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from graph.errors import ApiError, BadUserInput, Unauthenticated
from graph.loaders import SharedLoaders
from subscriptions import channels
from subscriptions import log as event_log
from subscriptions.bus import CLOSED, BoundedQueue, EventBus, SlowSubscriber, leave
from subscriptions.log import LoggedEvent

logger = logging.getLogger("fleetgraph.events")

#: Events read from the log per statement while catching up or replaying.
READ_BATCH = 500
#: How often the retention job deletes old events (seconds).
PRUNE_SECONDS = 600.0


class TooManySubscriptions(ApiError):
    """The user or the connection has as many subscriptions as it may."""

    code = "TOO_MANY_SUBSCRIPTIONS"


@dataclass(frozen=True)
class Owner:
    """Who a subscription belongs to: the limits count per user and per connection (any object standing for
    the websocket, compared by identity), and the stream ends when the owner's token does."""

    user_id: int | None = None
    connection: int | None = None
    ends_at: datetime | None = None
    #: Checks the owner's rights again with a RIGHTS event's shared loaders (raising ends the stream): a
    #: logout, a deactivation or a withdrawn permission ends the stream at once, not at the next event.
    recheck: Callable[[SharedLoaders], Awaitable[None]] | None = None


def _end_at(subscriber: BoundedQueue, ends_at: datetime | None) -> asyncio.TimerHandle | None:
    """At `ends_at` (its token's end) the subscriber's stream ends with UNAUTHENTICATED: a timer, so waiting for
    an event costs nothing extra."""
    if ends_at is None:
        return None
    remaining = max((ends_at - datetime.now(UTC)).total_seconds(), 0)
    expired = Unauthenticated("The access token has expired.")
    return asyncio.get_running_loop().call_later(remaining, subscriber.close, expired)


class _Listener(BoundedQueue):
    def __init__(self, max_queue: int, wants: Callable[[LoggedEvent], bool] | None) -> None:
        super().__init__(max_queue)
        self.wants = wants


class CursorExpired(ApiError):
    """The cursor is older than the event log keeps."""

    code = "CURSOR_EXPIRED"


#: The `after` argument of every subscription.
AFTER_DESCRIPTION = (
    "Resume after this cursor (an event's `cursor`): first the events you missed since then, in order, seen "
    "with your rights of now, then live ones. A cursor older than FLEETGRAPH_EVENT_RETENTION_HOURS is refused "
    "with CURSOR_EXPIRED."
)


def parse_cursor(cursor: str | None, argument: str = "after") -> int | None:
    """A cursor as the API hands it out (the event's number as text), or None."""
    if cursor is None:
        return None
    text = cursor.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise BadUserInput(f"`{argument}` is not a cursor (the `cursor` of an event).", field=argument)
    return int(text)


class EventStream:
    def __init__(
        self,
        bus: EventBus,
        *,
        poll_seconds: float = 0.5,
        retention_hours: float = 24.0,
        max_queue: int = 100,
        max_per_user: int = 100,
        max_per_connection: int = 20,
    ) -> None:
        self.bus = bus
        self.poll_seconds = poll_seconds
        self.retention = timedelta(hours=retention_hours)
        self.max_queue = max_queue
        self.max_per_user = max_per_user
        self.max_per_connection = max_per_connection
        self._per_user: Counter[int] = Counter()
        self._per_connection: Counter[int] = Counter()
        #: The cursor of the last event delivered in this process.
        self.last = 0
        #: How many RIGHTS events (subscriptions.channels) this process has delivered: a subscriber whose rights
        #: were checked at an earlier count checks them again (graph.auth.reauthenticate).
        self.rights_epoch = 0
        #: Events handed to subscribers (a subscriber that cannot want an event is not handed it), and
        #: subscribers ended for reading too slowly.
        self.handed_out = 0
        self.slow_dropped = 0
        #: The bus channel of this database's events (known once started).
        self.channel = ""
        self._session_factory: async_sessionmaker[AsyncSession] | None = None
        self._subscribers: dict[str, set[_Listener]] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._live = False
        self._tasks: list[asyncio.Task[None]] = []
        self._publishing: set[asyncio.Task[None]] = set()
        self._last_prune = 0.0

    # -- the process's side -------------------------------------------------------------------------------

    async def start(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        async with session_factory() as session:
            self.last = await event_log.newest_cursor(session)
            self.channel = await event_log.bus_channel(session)
        self._tasks = [
            asyncio.create_task(self._listen(), name="fleetgraph-events-listen"),
            asyncio.create_task(self._poll(), name="fleetgraph-events-poll"),
        ]

    async def stop(self) -> None:
        """Stop delivering; every subscriber ends after what it has queued."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._publishing:
            await asyncio.wait(self._publishing, timeout=5)
        for group in list(self._subscribers.values()):
            for subscriber in list(group):
                subscriber.close()

    @property
    def subscriber_count(self) -> int:
        return sum(len(group) for group in self._subscribers.values())

    @property
    def live(self) -> bool:
        """Whether events arrive over the bus (else from polling the log)."""
        return self._live

    def publish_logged(self, session: Session, logged: list[LoggedEvent]) -> None:
        """after_commit (subscriptions.log): send the commit's events over the bus. The task is kept on the
        session so that graph.workers.transaction can wait for it; other commit paths let it run."""
        message = {"events": [[event.cursor, event.channel, event.payload] for event in logged]}
        task = asyncio.get_running_loop().create_task(self.bus.publish(self.channel, message))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)
        session.info.setdefault("publishing", []).append(task)

    # -- delivery --------------------------------------------------------------------------------------------

    def _went_live(self) -> None:
        self._live = True
        self._wake.set()  # what was committed before the bus subscription was in place

    async def _listen(self) -> None:
        while True:
            if not self.bus.healthy:
                await asyncio.sleep(self.poll_seconds)
                continue
            try:
                async for message in self.bus.subscribe(self.channel, on_listening=self._went_live):
                    await self._receive(message)
            except ApiError as exc:  # the bus went away or this process fell behind it: the log has it all
                logger.warning("event bus: %s; reading the event log until it is back", exc.message)
            except Exception:  # e.g. a database hiccup while filling a gap: listen again, the log has it all
                logger.exception("live events: listening on the bus failed")
                await asyncio.sleep(self.poll_seconds)
            finally:
                self._live = False
            self._wake.set()

    async def _receive(self, message: dict[str, Any]) -> None:
        async with self._lock:
            for cursor, channel, payload in message.get("events", ()):
                if cursor <= self.last:
                    continue
                if cursor == self.last + 1:
                    self._dispatch(LoggedEvent(cursor, channel, payload))
                else:
                    await self._catch_up_locked()

    async def _poll(self) -> None:
        while True:
            interval = self.poll_seconds * (10 if self._live else 1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            try:
                await self.catch_up()
                await self._prune_now_and_then()
            except Exception:  # a database hiccup: the next round tries again
                logger.exception("reading the event log failed")

    async def catch_up(self) -> None:
        """Deliver whatever the log has beyond the last delivered event."""
        async with self._lock:
            await self._catch_up_locked()

    async def _catch_up_locked(self) -> None:
        assert self._session_factory is not None
        while True:
            async with self._session_factory() as session:
                events = await event_log.read_after(session, self.last, limit=READ_BATCH)
            for event in events:
                self._dispatch(event)
            if len(events) < READ_BATCH:
                return

    def _dispatch(self, event: LoggedEvent) -> None:
        self.last = event.cursor
        assert self._session_factory is not None
        if event.channel == channels.RIGHTS:
            self.rights_epoch += 1
        event = event._replace(shared=SharedLoaders(self._session_factory, self.rights_epoch))
        if event.channel == channels.RIGHTS:  # every subscriber checks again, all in one batch
            for group in self._subscribers.values():
                for subscriber in group:
                    subscriber.offer(event)
            return
        for subscriber in self._subscribers.get(event.channel, ()):
            if subscriber.wants is None or subscriber.wants(event):
                self.handed_out += 1
                subscriber.offer(event)

    async def _prune_now_and_then(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_prune < PRUNE_SECONDS:
            return
        self._last_prune = now
        assert self._session_factory is not None
        async with self._session_factory() as session, session.begin():
            await event_log.prune(session, datetime.now(UTC) - self.retention)

    # -- the subscriber's side --------------------------------------------------------------------------

    async def subscribe(
        self,
        channel: str,
        after: int | None = None,
        owner: Owner | None = None,
        wants: Callable[[LoggedEvent], bool] | None = None,
    ) -> AsyncIterator[LoggedEvent]:
        """The events of `channel`: with `after`, those since that cursor first (from the log), then live ones.
        `owner` counts against the per-user and per-connection limits, and its token's end ends the stream.
        `wants` is asked at dispatch, with set lookups only, whether the subscriber could want a live event:
        on False it is not even woken (another tenant's event). It must answer True whenever unsure."""
        assert self._session_factory is not None
        if after is not None:
            await self._check_horizon(after)
        owner = owner or Owner()
        with self._admitted(owner):
            subscriber = _Listener(self.max_queue, wants)
            async with self._lock:  # between two deliveries: the replay ends exactly where live delivery starts
                start = self.last
                self._subscribers.setdefault(channel, set()).add(subscriber)
            delivered = after if after is not None else start
            expiry = _end_at(subscriber, owner.ends_at)
            try:
                if after is not None and after < start:
                    async for event in self._replay(channel, after, start):
                        delivered = event.cursor
                        yield event
                while True:
                    item = await subscriber.get()
                    if item is CLOSED:
                        if isinstance(subscriber.error, SlowSubscriber):
                            self.slow_dropped += 1
                            raise SlowSubscriber(subscriber.error.message, cursor=str(delivered))
                        if subscriber.error is not None:
                            raise subscriber.error
                        return
                    if item.channel == channels.RIGHTS:
                        if owner.recheck is not None:
                            await owner.recheck(item.shared)
                        continue
                    if item.cursor > delivered:  # a cursor from a process that was ahead of this one
                        delivered = item.cursor
                        yield item
            finally:
                if expiry is not None:
                    expiry.cancel()
                leave(self._subscribers, channel, subscriber)

    async def _check_horizon(self, after: int) -> None:
        assert self._session_factory is not None
        async with self._session_factory() as session:
            horizon = await event_log.pruned_through(session)
        if after < horizon:
            raise CursorExpired(
                "The cursor is older than the event log keeps (FLEETGRAPH_EVENT_RETENTION_HOURS): load the "
                "current state again and subscribe without `after`."
            )

    @contextlib.contextmanager
    def _admitted(self, owner: Owner) -> Iterator[None]:
        """Count the subscription against its user's and its connection's limits while it lasts."""
        if owner.user_id is not None and self._per_user[owner.user_id] >= self.max_per_user:
            raise TooManySubscriptions(
                f"At most {self.max_per_user} subscriptions per user "
                "(FLEETGRAPH_SUBSCRIPTIONS_PER_USER): end one first."
            )
        if owner.connection is not None and self._per_connection[owner.connection] >= self.max_per_connection:
            raise TooManySubscriptions(
                f"At most {self.max_per_connection} subscriptions per connection "
                "(FLEETGRAPH_SUBSCRIPTIONS_PER_CONNECTION): end one first."
            )
        counters = [(self._per_user, owner.user_id), (self._per_connection, owner.connection)]
        for counter, key in counters:
            if key is not None:
                counter[key] += 1
        try:
            yield
        finally:
            for counter, key in counters:
                if key is not None:
                    counter[key] -= 1
                    if not counter[key]:
                        del counter[key]

    async def _replay(self, channel: str, after: int, through: int) -> AsyncIterator[LoggedEvent]:
        assert self._session_factory is not None
        cursor = after
        while True:
            async with self._session_factory() as session:
                events = await event_log.read_after(
                    session, cursor, channels=[channel], through=through, limit=READ_BATCH
                )
            for event in events:
                # rights_epoch None: a replayed event checks the subscriber's rights of now
                yield event._replace(shared=SharedLoaders(self._session_factory, None))
            if len(events) < READ_BATCH:
                return
            cursor = events[-1].cursor
