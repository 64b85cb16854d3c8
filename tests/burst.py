"""Firing requests at the same time, and checking that they really overlapped in the database.

The `gql`/`client` fixtures run the app in-process over httpx.ASGITransport; requests started with
asyncio.gather interleave at every await (reading the body, each SQL statement), so their
transactions overlap. `Overlap` counts the transactions open at once, so that a test proves it
raced instead of passing because its requests happened to run one after the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import event

T = TypeVar("T")


class Overlap:
    """The most database transactions open at the same moment while the block runs."""

    def __init__(self, runtime) -> None:
        self.engine = runtime.engine.sync_engine
        self.open = 0
        self.most = 0

    def _begin(self, _connection) -> None:
        self.open += 1
        self.most = max(self.most, self.open)

    def _end(self, _connection) -> None:
        self.open -= 1

    def __enter__(self) -> Overlap:
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._end)
        event.listen(self.engine, "rollback", self._end)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._end)
        event.remove(self.engine, "rollback", self._end)


async def burst(runtime, count: int, request: Callable[[int], Awaitable[T]]) -> list[T]:
    """Start `count` requests at once; fails unless their transactions overlapped."""
    with Overlap(runtime) as overlap:
        results = await asyncio.gather(*(request(index) for index in range(count)))
    assert overlap.most >= 2, "the requests ran one after the other: nothing raced"
    return list(results)
