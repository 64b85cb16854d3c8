"""Background work of a server process: one asyncio task running a round every few seconds until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any


class PeriodicTask:
    """Runs `run_round()` every `interval()` seconds in an asyncio task, from start() until stop().

    A failing round (e.g. a database hiccup) is logged and tried again at the next tick: it must not end
    the task. stop() lets the round in progress finish for up to `stop_timeout` seconds, then cancels it.
    """

    name = "periodic-task"
    stop_timeout: float = 30
    log = logging.getLogger("fleetgraph")

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def interval(self) -> float:
        raise NotImplementedError

    async def run_round(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        task, self._task = self._task, None
        try:
            await asyncio.wait_for(task, timeout=self.stop_timeout)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        self.log.info("%s started", self.name)
        while not self._stopping.is_set():
            try:
                await self.run_round()
            except Exception:  # noqa: BLE001 - see the class docstring
                self.log.exception("%s: round failed; trying again at the next tick", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval())
        self.log.info("%s stopped", self.name)
