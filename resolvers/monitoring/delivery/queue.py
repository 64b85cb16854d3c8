"""Putting deliveries in the queue, in the caller's transaction (so a refused batch queues nothing).

Enqueueing is idempotent by key: INSERT … ON CONFLICT DO NOTHING, so a batch that is stored twice (a client
retrying) queues one delivery. After the commit the workers of this process are woken (other processes find the
delivery at their next poll).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import forwarding as fw
from models.base import utcnow

#: The wake-up events of this process's delivery workers (each adds its own while it runs).
WAKERS: set[asyncio.Event] = set()


@dataclass(frozen=True, slots=True)
class NewDelivery:
    kind: str
    target_id: int
    #: Unique for ever: the same key queues one delivery, and the receiver sees it with every attempt.
    idempotency_key: str
    payload: dict[str, Any]


def wake() -> None:
    for waker in WAKERS:
        waker.set()


def _wake_after_commit(session) -> None:
    session.info.pop(_WAKES, None)
    wake()


_WAKES = "wakes_delivery_workers"


def wake_after_commit(session: AsyncSession) -> None:
    """Wake this process's workers when the session's transaction commits (once, however often it is asked)."""
    if not session.info.get(_WAKES):
        session.info[_WAKES] = True
        event.listen(session.sync_session, "after_commit", _wake_after_commit, once=True)


async def enqueue_many(session: AsyncSession, deliveries: Sequence[NewDelivery]) -> int:
    """Queue the deliveries with one statement; returns how many were new (a key already queued is skipped)."""
    if not deliveries:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    rows = [
        {
            "kind": delivery.kind,
            "target_id": delivery.target_id,
            "idempotency_key": delivery.idempotency_key,
            "payload": delivery.payload,
            "state": fw.DeliveryState.QUEUED,
            "attempts": 0,
            "next_attempt_at": now,
            "lease_token": "",
            "last_error": "",
            "created_at": now,
        }
        for delivery in deliveries
    ]
    result = await session.execute(
        insert(fw.OutboundDelivery).values(rows).on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    wake_after_commit(session)
    return max(cast(CursorResult[Any], result).rowcount, 0)


async def enqueue(session: AsyncSession, kind: str, target_id: int, idempotency_key: str, payload: dict) -> bool:
    """Queue one delivery; False if its key was queued before."""
    return await enqueue_many(session, [NewDelivery(kind, target_id, idempotency_key, payload)]) == 1
