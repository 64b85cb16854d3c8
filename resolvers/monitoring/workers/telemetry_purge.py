"""Every telemetry_purge_seconds: telemetry past each organisation's retention is purged, and on PostgreSQL the
next days' partitions are made (resolvers/monitoring/telemetry/retention.py)."""

from __future__ import annotations

import logging

from graph.workers import PeriodicTask, transaction
from models.base import utcnow
from resolvers.monitoring.telemetry.retention import Purged, purge

log = logging.getLogger("fleetgraph.monitoring.purge")


class TelemetryPurge(PeriodicTask):
    name = "telemetry purge"
    log = log

    def interval(self) -> float:
        return self.runtime.settings.telemetry_purge_seconds

    async def run_round(self) -> Purged:  # type: ignore[override]
        async with transaction(self.runtime) as session:
            purged = await purge(session, self.runtime.settings.telemetry_retention_days, utcnow())
        if purged.dropped or purged.deleted:
            log.info(
                "telemetry purge: %d partition(s) dropped, %d point(s) deleted", len(purged.dropped), purged.deleted
            )
        return purged
