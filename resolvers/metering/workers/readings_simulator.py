"""The demo's meters (only in demo mode): every minute each demo meter bound to a metering point sends its
reading (resolvers/metering/readings/demo.py) through the same rule as a real meter's message."""

from __future__ import annotations

import logging

from graph.errors import DomainError
from graph.workers import PeriodicTask, transaction
from models.base import utcnow
from resolvers.metering.readings.demo import demo_meters
from resolvers.metering.readings.ingest import store_readings

log = logging.getLogger("fleetgraph.metering.simulator")

#: Seconds between two rounds of readings.
INTERVAL = 60.0


class ReadingsSimulator(PeriodicTask):
    name = "readings simulator"
    log = log

    def interval(self) -> float:
        return INTERVAL

    async def run_round(self) -> int:  # type: ignore[override]
        """One reading per demo meter, now; returns how many were stored."""
        now = utcnow()
        async with transaction(self.runtime) as session:
            meters = await demo_meters(session)
        if not meters:
            return 0
        try:
            async with transaction(self.runtime) as session:
                readings = [meter.reading(now) for meter in meters]
                return len(await store_readings(session, readings, organisation_id=None, now=now))
        except DomainError as error:  # the next round tries again
            log.warning("readings simulator: refused (%s)", error.message)
            return 0
