"""The outbox in /metrics (graph.domain.Gauge, read when Prometheus scrapes): how many mails wait in each state,
and how late the most overdue one is. A growing queue or a late mail means SMTP is down or slow."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.domain import Gauge
from models.base import utcnow
from models.mail import OutboxMessage, OutboxStatus

#: The states shown, each always (0 when empty, so a dashboard draws a line): a PENDING mail that was tried
#: before is "retrying"; SENT ones are history, not queue.
STATES = ("pending", "retrying", "sending", "uncertain", "failed")


async def outbox_depth(session: AsyncSession) -> dict[tuple[str, ...], float]:
    retried = func.count().filter(OutboxMessage.attempts > 0)
    rows = await session.execute(
        select(OutboxMessage.status, func.count(), retried)
        .where(OutboxMessage.status != OutboxStatus.SENT)
        .group_by(OutboxMessage.status)
    )
    depth: dict[tuple[str, ...], float] = {(state,): 0.0 for state in STATES}
    for status, count, retrying in rows:
        if status == OutboxStatus.PENDING:
            depth[("pending",)] += count - retrying
            depth[("retrying",)] += retrying
        else:
            depth[(status.value.lower(),)] += count
    return depth


async def outbox_overdue_seconds(session: AsyncSession) -> float:
    # the (status, next_attempt_at) index answers this without reading the rows
    due = await session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == OutboxStatus.PENDING)
    )
    return max((utcnow() - due).total_seconds(), 0.0) if due is not None else 0.0


GAUGES = (
    Gauge(
        "fleetgraph_mail_outbox_messages",
        "Mails in the outbox by state: pending, retrying (pending after a failed attempt), sending, uncertain "
        "(a worker stopped mid-send), failed (gave up).",
        outbox_depth,
        labels=("state",),
    ),
    Gauge(
        "fleetgraph_mail_outbox_overdue_seconds",
        "How long the most overdue pending mail has been due (0: none is due).",
        outbox_overdue_seconds,
    ),
)
