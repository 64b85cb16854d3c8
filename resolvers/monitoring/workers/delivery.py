"""The outbound-delivery worker: delivers due deliveries (resolvers.monitoring.delivery.engine) as soon as an
enqueue in this process wakes it, else every delivery_poll_seconds (deliveries queued by other processes, retries
that became due). Several processes may run one each: the claim's lease keeps them apart."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import Any

from graph.workers import PeriodicTask
from resolvers.monitoring.delivery import queue
from resolvers.monitoring.delivery.engine import ADAPTERS, Adapters, deliver_due, log, purge_delivered

#: How often delivered deliveries past their retention are purged (seconds).
PURGE_EVERY = 3600.0
#: Deliveries claimed (and sent concurrently) at a time, and claims per round.
LIMIT, ROUNDS = 20, 10


class DeliveryWorker(PeriodicTask):
    name = "outbound delivery worker"
    log = log

    def __init__(self, runtime: Any, adapters: Adapters = ADAPTERS) -> None:
        super().__init__(runtime)
        self.adapters = adapters
        self._wake = asyncio.Event()
        self._purged_at: float | None = None
        # a round in progress finishes its sends (each bounded by the send timeout), then the worker stops
        self.stop_timeout = runtime.settings.delivery_timeout_seconds + 5

    def interval(self) -> float:
        return 0  # the round itself waits (for a wake-up or the poll interval)

    def start(self) -> None:
        queue.WAKERS.add(self._wake)
        super().start()

    async def stop(self) -> None:
        queue.WAKERS.discard(self._wake)
        self._wake.set()
        await super().stop()

    async def run_round(self) -> None:
        self._wake.clear()
        backlog = False
        try:
            # as many as a round takes were delivered: more are probably due, so go on without waiting
            backlog = (
                await deliver_due(self.runtime, adapters=self.adapters, limit=LIMIT, rounds=ROUNDS) >= LIMIT * ROUNDS
            )
            await self._purge()
        finally:
            # also after a failed round (a database hiccup): wait, do not spin
            if not backlog:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.runtime.settings.delivery_poll_seconds)

    async def _purge(self) -> None:
        days = self.runtime.settings.delivery_retention_days
        if days <= 0 or (self._purged_at is not None and time.monotonic() - self._purged_at < PURGE_EVERY):
            return
        self._purged_at = time.monotonic()
        while await purge_delivered(self.runtime, timedelta(days=days)) == 1000:  # bounded batches, then done
            pass


def delivery_worker(runtime: Any) -> DeliveryWorker | None:
    return DeliveryWorker(runtime) if runtime.settings.delivery_poll_seconds > 0 else None
