"""The event log (transactional outbox): events are written in the transaction of the change they describe
and numbered in commit order, so a subscriber can resume from a cursor and nothing committed is lost when
the bus is away.

A rule queues an event on its session (graph.context.publish_after_commit). Just before the commit,
`write_queued` flushes the change, takes the log's lock (PostgreSQL: an advisory lock held until the
commit; SQLite has one writer at a time anyway) and inserts the events: ids then grow in commit order, and
once an id is visible every smaller id is final (committed or rolled back for good). After the commit the
session's `publish_logged` callback (the runtime's EventStream) sends them over the bus.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from models.base import DECIDES_RIGHTS
from models.events import EventLogEntry, EventLogHorizon
from subscriptions import channels

#: The bus channel that carries logged events (each message: the events of one commit) is this prefix and
#: the log's stream_id.
EVENTS_PREFIX = "events."
#: pg_advisory_xact_lock key of the log: "fgevents" as a number.
LOG_LOCK = 0x6667_6576_656E_7473 & 0x7FFF_FFFF_FFFF_FFFF
#: session.info key: the transaction wrote a row that decides rights.
RIGHTS_CHANGED = "rights_changed"


class LoggedEvent(NamedTuple):
    cursor: int
    channel: str
    payload: dict[str, Any]
    #: graph.loaders.SharedLoaders of this event in this process, the same for all its subscribers.
    shared: Any = None


def queue(session: Session | AsyncSession, channel: str, payload: dict[str, Any]) -> None:
    """Write `payload` to the log with the session's next commit; nothing if it rolls back."""
    session.info.setdefault("events", []).append((channel, payload))


def note_rights_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    """before_flush: remember whether the transaction writes a row that decides rights (models.base)."""
    if session.info.get(RIGHTS_CHANGED):
        return
    if any(_decides_rights(row, new=True) for row in session.new) or any(
        _decides_rights(row, new=False) for rows in (session.dirty, session.deleted) for row in rows
    ):
        session.info[RIGHTS_CHANGED] = True


def note_rights_statement(state: ORMExecuteState) -> None:
    """do_orm_execute: the same for an INSERT, UPDATE or DELETE statement run through the session."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    marked = getattr(getattr(state.statement, "table", None), "info", {}).get(DECIDES_RIGHTS)
    if marked == "all" or (marked == "changes" and not state.is_insert):
        state.session.info[RIGHTS_CHANGED] = True


def _decides_rights(row: Any, *, new: bool) -> bool:
    marked = getattr(getattr(row, "__table__", None), "info", {}).get(DECIDES_RIGHTS)
    return marked == "all" or (marked == "changes" and not new)


def write_queued(session: Session) -> None:
    """before_commit: insert the queued events behind the log's lock (see the module's docstring). A
    transaction that wrote rows deciding rights also logs a RIGHTS event: live subscriptions check their
    rights again before the events that follow it."""
    # The change's own rows first: holding the log's lock, the transaction waits for nothing but its commit.
    session.flush()
    queued: list[tuple[str, dict[str, Any]]] = session.info.pop("events", [])
    if session.info.pop(RIGHTS_CHANGED, False):  # first: the commit's own events already go by the new rights
        queued.insert(0, (channels.RIGHTS, {}))
    if not queued:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOG_LOCK})
    entries = [EventLogEntry(channel=channel, payload=orjson.dumps(payload).decode()) for channel, payload in queued]
    session.add_all(entries)
    session.flush()
    session.info["logged"] = [
        LoggedEvent(entry.id, channel, payload) for entry, (channel, payload) in zip(entries, queued, strict=True)
    ]


def hand_over_logged(session: Session) -> None:
    """after_commit: give the committed events to the session's publisher (if it has one)."""
    logged: list[LoggedEvent] = session.info.pop("logged", [])
    publish: Callable[[Session, list[LoggedEvent]], None] | None = session.info.get("publish_logged")
    if logged and publish is not None:
        publish(session, logged)


def forget_queued(session: Session) -> None:
    """after_rollback: what the rolled-back transaction queued never happened."""
    session.info.pop("events", None)
    session.info.pop("logged", None)
    session.info.pop(RIGHTS_CHANGED, None)


def _event(row: Any) -> LoggedEvent:
    return LoggedEvent(row.id, row.channel, orjson.loads(row.payload))


async def read_after(
    session: AsyncSession,
    after: int,
    *,
    channels: Sequence[str] | None = None,
    through: int | None = None,
    limit: int = 1000,
) -> list[LoggedEvent]:
    """Logged events with a cursor above `after` (up to `through`), oldest first, at most `limit`."""
    query = select(EventLogEntry.id, EventLogEntry.channel, EventLogEntry.payload).where(EventLogEntry.id > after)
    if channels is not None:
        query = query.where(EventLogEntry.channel.in_(channels))
    if through is not None:
        query = query.where(EventLogEntry.id <= through)
    rows = (await session.execute(query.order_by(EventLogEntry.id).limit(limit))).all()
    return [_event(row) for row in rows]


async def newest_cursor(session: AsyncSession) -> int:
    return (await session.scalar(select(func.max(EventLogEntry.id)))) or 0


async def pruned_through(session: AsyncSession) -> int:
    return (await session.scalar(select(EventLogHorizon.pruned_through))) or 0


async def bus_channel(session: AsyncSession) -> str:
    """The bus channel of this database's events."""
    stream_id = await session.scalar(select(EventLogHorizon.stream_id))
    assert stream_id, "the event log has no identity: run the migrations"
    return EVENTS_PREFIX + stream_id


async def prune(session: AsyncSession, older_than: datetime) -> int:
    """Delete the events written before `older_than` and move the horizon; returns how many went."""
    last = await session.scalar(select(func.max(EventLogEntry.id)).where(EventLogEntry.created_at < older_than))
    if last is None:
        return 0
    deleted = await session.execute(delete(EventLogEntry).where(EventLogEntry.id <= last))
    await session.execute(
        update(EventLogHorizon).where(EventLogHorizon.pruned_through < last).values(pruned_through=last)
    )
    return int(getattr(deleted, "rowcount", 0) or 0)
