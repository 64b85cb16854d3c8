"""The outbound-delivery worker: delivers due deliveries (resolvers.monitoring.delivery.engine) as soon as an
enqueue in this process wakes it, else every delivery_poll_seconds (deliveries queued by other processes, retries
that became due). Several processes may run one each: the claim's lease keeps them apart."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from graph.workers import PeriodicTask
from resolvers.monitoring.delivery import queue
from resolvers.monitoring.delivery.engine import ADAPTERS, Adapters, deliver_due, log


class DeliveryWorker(PeriodicTask):
    name = "outbound delivery worker"
    log = log

    def __init__(self, runtime: Any, adapters: Adapters = ADAPTERS) -> None:
        super().__init__(runtime)
        self.adapters = adapters
        self._wake = asyncio.Event()
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
        try:
            await deliver_due(self.runtime, adapters=self.adapters)
        finally:
            # also after a failed round (a database hiccup): wait, do not spin
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.runtime.settings.delivery_poll_seconds)


def delivery_worker(runtime: Any) -> DeliveryWorker | None:
    return DeliveryWorker(runtime) if runtime.settings.delivery_poll_seconds > 0 else None
