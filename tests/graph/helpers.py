"""Shared helpers of the graph tests."""

from __future__ import annotations

import asyncio

from subscriptions.bus import EventBus


class Collector:
    """Reads a subscription in a task and keeps what arrived and how it ended."""

    def __init__(self, bus: EventBus, channel: str) -> None:
        self.received: list[dict] = []
        self.ended: BaseException | None = None
        self.task = asyncio.create_task(self._run(bus, channel))

    async def _run(self, bus: EventBus, channel: str) -> None:
        try:
            async for payload in bus.subscribe(channel):
                self.received.append(payload)
        except Exception as exc:
            self.ended = exc

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
