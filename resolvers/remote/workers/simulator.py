"""The demo simulator (only in demo mode, `fleetgraph serve --demo`): the demo's reporting routers send a
heartbeat every few seconds, with status values that wander like a real router's, so they stay online and
connecting to them works at any time. The silent demo router stays silent, to show what offline looks like.

Heartbeats go through the same rule as those from MQTT (routers.rules.trusted_heartbeat), so the watchdog,
the live subscription and the dashboard see them as they would see a real router. Now and then a router
reports a fault or its machine stands still for a while (issue 18: the demo's fault and standstill profile
mails about it). Erika's demo client sends its heartbeats too, through the rule a real client's go through.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any

from graph.errors import DomainError
from graph.workers import PeriodicTask, transaction
from models.base import utcnow
from resolvers.remote.clients.demo import DEMO_CLIENT_SECRET
from resolvers.remote.clients.rules import client_heartbeat
from resolvers.remote.demo import REPORTING_ROUTERS
from resolvers.remote.local_network.demo import DEMO_NETWORK
from resolvers.remote.routers.rules import Status, trusted_heartbeat

log = logging.getLogger("fleetgraph.remote.simulator")

#: Longest pause between two heartbeats of a router (seconds); shorter when the offline timeout is short.
MAX_INTERVAL = 15.0
#: Per heartbeat: the chance that a fault appears (or a standstill starts), and that it ends again.
CONDITION_STARTS = 0.02
CONDITION_ENDS = 0.2
FAULTS = (("E17", "Motor overload"), ("E42", "Pressure too low"), ("W03", "Filter clogged"))


@dataclass
class Wandering:
    """A value that moves a little at each step and stays within its bounds."""

    value: float
    low: float
    high: float
    step: float

    def next(self, rng: random.Random) -> float:
        self.value = min(self.high, max(self.low, self.value + rng.uniform(-self.step, self.step)))
        return round(self.value, 1)


class SimulatedRouter:
    def __init__(self, common_name: str, rng: random.Random) -> None:
        self.common_name = common_name
        self.rng = rng
        self.cpu_load = Wandering(rng.uniform(8, 20), 2, 95, 6)
        self.memory_use = Wandering(rng.uniform(35, 45), 20, 90, 1.5)
        self.signal_strength = Wandering(rng.uniform(-80, -65), -110, -50, 3)
        self.link_speed = Wandering(rng.uniform(20, 60), 1, 150, 8)
        self.fault: tuple[str, str] | None = None
        self.standstill = False

    def _conditions(self) -> None:
        """Now and then a fault appears or a standstill starts; each ends again after a while."""
        if self.fault is None:
            self.fault = self.rng.choice(FAULTS) if self.rng.random() < CONDITION_STARTS else None
        elif self.rng.random() < CONDITION_ENDS:
            self.fault = None
        flip = CONDITION_ENDS if self.standstill else CONDITION_STARTS
        if self.rng.random() < flip:
            self.standstill = not self.standstill

    def status(self) -> Status:
        signal = self.signal_strength.next(self.rng)
        self._conditions()
        return Status(
            fault_code=self.fault[0] if self.fault else None,
            fault_message=self.fault[1] if self.fault else None,
            standstill=self.standstill,
            cpu_load=self.cpu_load.next(self.rng),
            memory_use=self.memory_use.next(self.rng),
            modem_state="CONNECTED" if signal > -105 else "SEARCHING",
            signal_strength=signal,
            link_speed=self.link_speed.next(self.rng),
            # the LAN IntegraDemo's locations expect, so Location.localNetwork shows a match (issue 18)
            lan_subnet=DEMO_NETWORK[0],
        )


class DemoSimulator(PeriodicTask):
    name = "demo simulator"
    log = log

    def __init__(self, runtime: Any, common_names: tuple[str, ...] = REPORTING_ROUTERS) -> None:
        super().__init__(runtime)
        rng = random.Random()
        self.routers = [SimulatedRouter(name, rng) for name in common_names]

    def interval(self) -> float:
        # three heartbeats within the offline timeout: one lost to a slow round does not flip the router
        return min(MAX_INTERVAL, self.runtime.settings.router_offline_after_seconds / 3)

    async def run_round(self) -> None:
        for router in self.routers:
            try:
                async with transaction(self.runtime) as session:
                    await trusted_heartbeat(session, router.common_name, router.status())
            except DomainError:
                pass  # the router was deleted or renamed in the demo: nothing to simulate
        async with transaction(self.runtime) as session:  # None when Erika removed it: nothing to simulate
            await client_heartbeat(session, DEMO_CLIENT_SECRET, utcnow())
