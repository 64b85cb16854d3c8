"""The demo's telemetry (only in demo mode): every few seconds the demo's monitored locations send their values
(resolvers/monitoring/telemetry/demo.py) through the same rule as a real device's, so latest values, history, alarms and
forwarding see them as they would see real telemetry."""

from __future__ import annotations

import logging

from graph.errors import DomainError
from graph.workers import PeriodicTask, transaction
from models.base import utcnow
from resolvers.monitoring.telemetry.demo import demo_sites, set_units
from resolvers.monitoring.telemetry.rules import store_points

log = logging.getLogger("fleetgraph.monitoring.simulator")

#: Seconds between two rounds of points.
INTERVAL = 5.0


class TelemetrySimulator(PeriodicTask):
    name = "telemetry simulator"
    log = log

    def interval(self) -> float:
        return INTERVAL

    async def run_round(self) -> int:  # type: ignore[override]
        """One point per key and site, now; returns how many were stored."""
        now = utcnow()
        stored = 0
        async with transaction(self.runtime) as session:
            sites = await demo_sites(session)
        # A transaction per site, not a savepoint per site in one: on SQLite a savepoint opens the transaction
        # before the rule's reads, and a transaction that read first cannot take the write lock once another
        # writer committed ("database is locked" at once, whatever the busy timeout).
        for site in sites:
            try:
                async with transaction(self.runtime) as session:
                    stored += len(await store_points(session, None, site.location, site.points(now)))
            except DomainError as error:  # e.g. an alarm rule refused the batch: the next round tries again
                log.warning("telemetry simulator: %s refused (%s)", site.location.name, error.message)
        async with transaction(self.runtime) as session:
            await set_units(session, [site.location.id for site in sites])
        return stored
