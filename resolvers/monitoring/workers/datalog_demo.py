"""The simulated router link of the demo (demo mode without FLEETGRAPH_MQTT_URL): uploads are acknowledged and
discovery requests answered in-process, a moment later, like a real router would over MQTT. The acknowledgement
goes through the same conditional UPDATE as one from MQTT (upload.apply_ack)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from graph.workers import transaction
from resolvers.monitoring.datalog import link
from resolvers.monitoring.datalog.simulated import answer
from resolvers.monitoring.datalog.upload import apply_ack

log = logging.getLogger("fleetgraph.monitoring.datalog")

#: How long the simulated router takes to apply a configuration or answer (seconds).
DELAY = 0.3


class SimulatedRouterLink:
    name = link.NAME

    def __init__(self, runtime: Any, delay: float = DELAY) -> None:
        self.runtime = runtime
        self.delay = delay
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        link.register(self.runtime, self)

    async def stop(self) -> None:
        link.unregister(self.runtime, self)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def send_config(self, common_name: str, request_id: str, document: dict) -> None:
        del document  # a simulated router keeps nothing of it (it holds secrets)
        task = asyncio.create_task(self._acknowledge(common_name, request_id), name="simulated datalog ack")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _acknowledge(self, common_name: str, request_id: str) -> None:
        await asyncio.sleep(self.delay)
        try:
            async with transaction(self.runtime) as session:
                await apply_ack(session, common_name, request_id, True, "")
        except Exception:
            log.exception("simulated router %s could not acknowledge an upload", common_name)

    async def discover(self, common_name: str, request: dict, timeout: float) -> dict:
        await asyncio.sleep(min(self.delay, timeout))
        return {"ok": True, "reason": "", "result": answer(request)}
