"""Background work of a server process (workers): what they share with requests, and a periodic task.

A domain declares its workers in its `domain.py` (graph.domain.Domain.workers); Runtime.start starts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class Worker(Protocol):
    """Something a server process runs beside requests, from Runtime.start until Runtime.stop."""

    name: str

    def start(self) -> None: ...

    async def stop(self) -> None: ...


@asynccontextmanager
async def transaction(runtime: Any) -> AsyncIterator[AsyncSession]:
    """One session and one transaction. Events queued with graph.context.publish_after_commit are written to
    the event log with the commit (dropped when it rolls back) and are on the bus when this returns.
    Requests (Context.transaction) and workers (the MQTT heartbeat subscriber, the router watchdog) use it."""
    async with runtime.session_factory() as session:
        async with session.begin():
            yield session
        publishing = session.info.pop("publishing", [])
    for task in publishing:
        await task


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
            except Exception:
                self.log.exception("%s: round failed; trying again at the next tick", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval())
        self.log.info("%s stopped", self.name)
