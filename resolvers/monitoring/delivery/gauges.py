"""The outbound queue in /metrics (graph.domain.Gauge, read when Prometheus scrapes): deliveries waiting or given
up, by kind and state. A growing QUEUED count means a receiver is down or slow; FAILED ones need a look."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.domain import Gauge
from models import forwarding as fw
from resolvers.monitoring.delivery.engine import ADAPTERS

D = fw.OutboundDelivery
#: DELIVERED ones are history, not queue.
STATES = (fw.DeliveryState.QUEUED, fw.DeliveryState.FAILED)


async def queue_depth(session: AsyncSession) -> dict[tuple[str, ...], float]:
    rows = await session.execute(
        select(D.kind, D.state, func.count()).where(D.state.in_(STATES)).group_by(D.kind, D.state)
    )
    # every registered kind in every state, 0 when empty, so a dashboard draws a line
    depth: dict[tuple[str, ...], float] = {(kind, state.value): 0.0 for kind in ADAPTERS.kinds for state in STATES}
    for kind, state, count in rows:
        depth[(kind, state.value)] = float(count)
    return depth


GAUGES = (
    Gauge(
        "fleetgraph_outbound_deliveries",
        "Outbound deliveries (forwarding, cloud integrations) by kind and state: QUEUED (waiting or being sent) and "
        "FAILED (gave up).",
        queue_depth,
        labels=("kind", "state"),
    ),
)
