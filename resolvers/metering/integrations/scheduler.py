"""Finding due integrations and queueing their periods, safely with several scheduler processes.

Per due integration, ONE transaction: a conditional UPDATE moves the next due date on (only if it still holds the
value read), and only the process whose UPDATE changed the row queues the period's delivery (idempotency key
`integration:<id>:<period>`) and its run. Another process that read the same row changes nothing and queues
nothing; the key's uniqueness backs that up.

After downtime only the newest due period is delivered: the payload is the latest reading anyway, so the older
periods would repeat it. The same goes for a city portal's "device not found": the period is queued again (key
`integration:<id>:<period>:retry:<instant>`) once a day, by the same conditional UPDATE on `retry_at`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from graph.workers import transaction
from models import metering as mt
from models.base import utcnow
from resolvers.metering.integrations.schedule import Schedule, period_key
from resolvers.metering.integrations.timing import schedule_of
from resolvers.metering.integrations.transfer import DEVICE_RETRY, enqueue_run, scheduled_key

Itg, P = mt.Integration, mt.MeteringPoint
#: Integrations looked at per round (the rest in the next round).
LIMIT = 200


def newest_due(schedule: Schedule, period: date, due: datetime, now: datetime) -> tuple[date, datetime, date, datetime]:
    """(period to deliver, its instant, the next period, its instant) for an integration due at `due` <= now."""
    following, following_due = schedule.next_after(due)
    while following_due <= now:
        period, due = following, following_due
        following, following_due = schedule.next_after(due)
    return period, due, following, following_due


async def _moved(session: Any, statement: Any) -> bool:
    return (
        cast(CursorResult[Any], await session.execute(statement.execution_options(synchronize_session=False))).rowcount
        == 1
    )


async def schedule_due(runtime: Any, now: datetime | None = None) -> int:
    """Queue every due period (and due "device not found" retries); returns how many were queued here."""
    now = now or utcnow()
    async with runtime.session_factory() as session:
        due = (
            await session.execute(
                select(Itg, P.time_zone)
                .join(P, P.id == Itg.metering_point_id)
                .where(Itg.enabled, Itg.next_due_at <= now)
                .order_by(Itg.next_due_at, Itg.id)
                .limit(LIMIT)
            )
        ).all()
        retries = (
            await session.execute(
                select(Itg.id, Itg.kind, Itg.retry_at, Itg.retry_period)
                .where(Itg.enabled, Itg.retry_at <= now)
                .order_by(Itg.retry_at, Itg.id)
                .limit(LIMIT)
            )
        ).all()
    queued = 0
    for integration, zone in due:
        period, _, following, following_due = newest_due(
            schedule_of(integration, zone), integration.next_period, integration.next_due_at, now
        )
        async with transaction(runtime) as session:
            moved = update(Itg).where(Itg.id == integration.id, Itg.next_due_at == integration.next_due_at, Itg.enabled)
            if await _moved(session, moved.values(next_period=following, next_due_at=following_due)):
                key = scheduled_key(integration.id, period_key(period))
                queued += await enqueue_run(session, integration.id, integration.kind, period, "SCHEDULE", key)
    for row in retries:
        async with transaction(runtime) as session:
            moved = update(Itg).where(Itg.id == row.id, Itg.retry_at == row.retry_at, Itg.enabled)
            if row.retry_period is not None and await _moved(
                session, moved.values(retry_at=max(row.retry_at, now) + DEVICE_RETRY)
            ):
                key = f"{scheduled_key(row.id, period_key(row.retry_period))}:retry:{row.retry_at.isoformat()}"
                queued += await enqueue_run(session, row.id, row.kind, row.retry_period, "RETRY", key)
    return queued
