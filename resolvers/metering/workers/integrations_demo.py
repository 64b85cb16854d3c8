"""The demo's transfers (demo mode only): every metering_demo_transfer_seconds the demo consumer's integrations
are queued as a transfer of today's period, through the same queue, adapters and run history as scheduled ones
(their own schedules are daily and monthly, too slow to watch)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from graph.workers import PeriodicTask, transaction
from models import metering as mt
from models.base import utcnow
from resolvers.metering.integrations.demo import demo_integration_ids
from resolvers.metering.integrations.timing import schedule_of
from resolvers.metering.integrations.transfer import enqueue_run

log = logging.getLogger("fleetgraph.metering.integrations")


class DemoTransfers(PeriodicTask):
    name = "demo integration transfers"
    log = log

    def interval(self) -> float:
        return self.runtime.settings.metering_demo_transfer_seconds

    async def run_round(self) -> int:  # type: ignore[override]
        now = utcnow()
        queued = 0
        async with transaction(self.runtime) as session:
            ids = await demo_integration_ids(session)
            rows = (
                await session.execute(
                    select(mt.Integration, mt.MeteringPoint.time_zone)
                    .join(mt.MeteringPoint, mt.MeteringPoint.id == mt.Integration.metering_point_id)
                    .where(mt.Integration.id.in_(ids))
                )
            ).all()
            for integration, zone in rows:
                today = now.astimezone(schedule_of(integration, zone).zone).date()
                key = f"integration:{integration.id}:demo:{now.strftime('%Y%m%dT%H%M%S')}"
                queued += await enqueue_run(session, integration.id, integration.kind, today, "SCHEDULE", key)
        return queued


def demo_transfers(runtime: Any) -> DemoTransfers | None:
    return DemoTransfers(runtime) if runtime.settings.demo else None
