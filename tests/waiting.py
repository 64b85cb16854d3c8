"""Waiting, bounded, for something that happens in another task or process."""

from __future__ import annotations

import asyncio
import time

#: The longest a test waits for anything (seconds).
DEADLINE = 10.0


async def until(condition, what: str, deadline: float = DEADLINE) -> None:
    """Wait (bounded) for `condition()` to hold."""
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, f"gave up waiting for {what}"
        await asyncio.sleep(0.01)
