"""The MQTT broker the tests talk to (Mosquitto at 127.0.0.1:1883): whether it is there, and a worker connected
to it for the length of a block."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.waiting import until

BROKER = ("127.0.0.1", 1883)
BROKER_URL = f"mqtt://{BROKER[0]}:{BROKER[1]}"


def reachable(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


#: For a module's `pytestmark`: its tests need the broker.
needs_broker = pytest.mark.skipif(not reachable(*BROKER), reason="no MQTT broker (Mosquitto) at 127.0.0.1:1883")


@contextlib.asynccontextmanager
async def connected(worker: Any) -> AsyncIterator[Any]:
    """The worker (a subscriber or link with a `state`) started and subscribed; stopped after the block."""
    worker.start()
    try:
        await until(lambda: worker.state == "connected", "the subscription")
        yield worker
    finally:
        await worker.stop()
