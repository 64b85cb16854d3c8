"""The integration scheduler: every metering_scheduler_seconds it queues the periods that are due
(resolvers/metering/integrations/scheduler.py); monitoring's delivery worker sends them. Several processes may
run one each: the conditional UPDATE per period keeps them from queueing a period twice."""

from __future__ import annotations

import logging
from typing import Any

from graph.workers import PeriodicTask
from resolvers.metering.integrations.scheduler import schedule_due

log = logging.getLogger("fleetgraph.metering.integrations")


class IntegrationScheduler(PeriodicTask):
    name = "integration scheduler"
    log = log

    def interval(self) -> float:
        return self.runtime.settings.metering_scheduler_seconds

    async def run_round(self) -> int:  # type: ignore[override]
        return await schedule_due(self.runtime)


def integration_scheduler(runtime: Any) -> IntegrationScheduler | None:
    return IntegrationScheduler(runtime) if runtime.settings.metering_scheduler_seconds > 0 else None
