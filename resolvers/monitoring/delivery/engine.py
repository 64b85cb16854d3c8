"""Delivering the outbound queue: claim, send through the kind's adapter, record.

Per round a worker:

1. claims up to `limit` due deliveries with ONE conditional UPDATE that sets its lease (a random token and an
   expiry) and counts the attempt; what the UPDATE returns is what this worker holds. On PostgreSQL the inner
   SELECT skips rows other workers lock (FOR UPDATE SKIP LOCKED) and the UPDATE re-checks the conditions on
   the locked row; SQLite has one writer, so claims run one after the other and each sees the other's lease;
2. sends each through the adapter registered for its kind, outside any transaction, with the delivery's
   idempotency key (HTTP adapters send it as the `Idempotency-Key` header);
3. records the attempt (status, error, duration) and the outcome: DELIVERED, never sent again; or, on failure,
   due again after an exponential backoff with jitter, FAILED after `delivery_max_attempts` or at once when the
   adapter says the error is permanent (e.g. the target was deleted).

A worker that stops between 1 and 3 leaves its lease; when the lease expires the delivery is due again and
another worker sends it again, with the same idempotency key, so the receiver can tell the repeat. That is
"exactly once" per delivery: retried until acknowledged, never after.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update

from graph.settings import Settings
from models import forwarding as fw
from models.base import utcnow

log = logging.getLogger("fleetgraph.monitoring.delivery")

D = fw.OutboundDelivery
MAX_ERROR = 1000


@dataclass(frozen=True, slots=True)
class Delivery:
    """What an adapter is given: a claimed delivery."""

    id: int
    kind: str
    target_id: int
    idempotency_key: str
    payload: dict[str, Any]
    #: This attempt's number (1 for the first).
    attempts: int


class DeliveryError(Exception):
    """An adapter's refusal with a message safe to store and log (no secrets, no payload). `permanent`: trying
    again cannot help (the target is gone, the receiver refuses the request as malformed): FAILED at once."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


#: async adapter(runtime, delivery): returns when the receiver acknowledged; raises to fail the attempt.
Adapter = Callable[[Any, Delivery], Awaitable[None]]


class Adapters:
    """The adapters by delivery kind; a feature registers its kinds when its module is imported."""

    def __init__(self) -> None:
        self._by_kind: dict[str, Adapter] = {}

    def register(self, kind: str, adapter: Adapter) -> None:
        self._by_kind[kind] = adapter

    def get(self, kind: str) -> Adapter | None:
        return self._by_kind.get(kind)

    @property
    def kinds(self) -> list[str]:
        return sorted(self._by_kind)


ADAPTERS = Adapters()


def backoff(settings: Settings, attempts: int) -> timedelta:
    """Doubling from delivery_retry_seconds up to the maximum, with jitter (half to all of it), so that
    deliveries that failed together (a receiver that was down) do not all come back at once."""
    ceiling = min(settings.delivery_retry_seconds * 2 ** max(attempts - 1, 0), settings.delivery_max_backoff_seconds)
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))


async def claim(runtime: Any, settings: Settings, limit: int) -> tuple[str, list[Delivery]]:
    """Lease up to `limit` due deliveries with one conditional UPDATE: (lease token, deliveries held)."""
    now = utcnow()
    token = secrets.token_hex(10)
    free = or_(D.lease_until.is_(None), D.lease_until < now)
    due = (
        select(D.id)
        .where(D.state == fw.DeliveryState.QUEUED, D.next_attempt_at <= now, free)
        .order_by(D.next_attempt_at, D.id)
        .limit(limit)
    )
    if runtime.engine.dialect.name == "postgresql":
        # materialised, so it runs once: as an IN subquery PostgreSQL may rescan it per row (a semi join) and
        # then claim more than `limit` rows
        due = select(due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED").c.id)
    async with runtime.session_factory() as session, session.begin():
        rows = (
            await session.execute(
                update(D)
                # the conditions again: on PostgreSQL they are re-evaluated on the locked row
                .where(D.id.in_(due), D.state == fw.DeliveryState.QUEUED, free)
                .values(
                    lease_until=now + timedelta(seconds=settings.delivery_lease_seconds),
                    lease_token=token,
                    attempts=D.attempts + 1,
                )
                .returning(D.id, D.kind, D.target_id, D.idempotency_key, D.payload, D.attempts)
                .execution_options(synchronize_session=False)
            )
        ).all()
    return token, [Delivery(*row) for row in rows]


async def record(
    runtime: Any, settings: Settings, delivery: Delivery, token: str, error: DeliveryError | None, duration: float
) -> fw.DeliveryState:
    """The attempt in the history and the outcome on the delivery (one transaction)."""
    now = utcnow()
    message = "" if error is None else str(error)[:MAX_ERROR]
    async with runtime.session_factory() as session, session.begin():
        session.add(
            fw.OutboundAttempt(
                delivery_id=delivery.id,
                status="delivered" if error is None else "failed",
                error=message,
                duration_ms=round(duration * 1000),
                at=now,
            )
        )
        if error is None:
            # even if the lease ran out meanwhile: it was acknowledged, and that is the truth to record
            statement = update(D).where(D.id == delivery.id, D.state == fw.DeliveryState.QUEUED)
            values: dict[str, Any] = {"state": fw.DeliveryState.DELIVERED, "delivered_at": now, "last_error": ""}
            state = fw.DeliveryState.DELIVERED
        else:
            dead = error.permanent or delivery.attempts >= settings.delivery_max_attempts
            state = fw.DeliveryState.FAILED if dead else fw.DeliveryState.QUEUED
            # only while the lease is still ours: a worker that took over after it expired decides now
            statement = update(D).where(D.id == delivery.id, D.lease_token == token, D.state == fw.DeliveryState.QUEUED)
            values = {
                "state": state,
                "last_error": message,
                "next_attempt_at": now + backoff(settings, delivery.attempts),
            }
        await session.execute(
            statement.values(**values, lease_until=None, lease_token="").execution_options(synchronize_session=False)
        )
    return state


async def _attempt(runtime: Any, settings: Settings, adapters: Adapters, delivery: Delivery, token: str) -> bool:
    adapter = adapters.get(delivery.kind)
    started = time.monotonic()
    error: DeliveryError | None = None
    try:
        if adapter is None:
            raise DeliveryError(f"No adapter delivers {delivery.kind!r}.", permanent=True)
        await asyncio.wait_for(adapter(runtime, delivery), timeout=settings.delivery_timeout_seconds)
    except DeliveryError as exc:
        error = exc
    except TimeoutError:
        error = DeliveryError(f"No acknowledgement within {settings.delivery_timeout_seconds:g} s.")
    except Exception as exc:  # an adapter's unexpected error: its type and text, which adapters keep free of secrets
        error = DeliveryError(f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    state = await record(runtime, settings, delivery, token, error, time.monotonic() - started)
    if error is not None:
        log.warning(
            "delivery %s (%s): attempt %s failed (%s), now %s",
            delivery.id,
            delivery.kind,
            delivery.attempts,
            error,
            state,
        )
    return error is None


async def deliver_due(
    runtime: Any, *, adapters: Adapters = ADAPTERS, settings: Settings | None = None, limit: int = 20, rounds: int = 10
) -> int:
    """Deliver what is due: up to `rounds` claims of up to `limit` deliveries, each claim's sent concurrently.
    Returns how many were delivered."""
    settings = settings or runtime.settings
    delivered = 0
    for _ in range(rounds):
        token, claimed = await claim(runtime, settings, limit)
        results = await asyncio.gather(*(_attempt(runtime, settings, adapters, d, token) for d in claimed))
        delivered += sum(results)
        if len(claimed) < limit:
            break
    return delivered


async def purge_delivered(runtime: Any, older_than: timedelta, limit: int = 1000) -> int:
    """Delete up to `limit` deliveries DELIVERED more than `older_than` ago, with their attempts (ON DELETE
    CASCADE); returns how many. FAILED ones stay for an operator to look at."""
    old = (
        select(D.id)
        .where(D.state == fw.DeliveryState.DELIVERED, D.delivered_at < utcnow() - older_than)
        .order_by(D.id)
        .limit(limit)
    )
    async with runtime.session_factory() as session, session.begin():
        deleted = (
            await session.scalars(
                delete(D).where(D.id.in_(old)).returning(D.id).execution_options(synchronize_session=False)
            )
        ).all()
    return len(deleted)
