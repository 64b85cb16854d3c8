"""What the tests run against: the database and bus (from the environment), settings, free ports and
`fleetgraph` server processes."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import httpx

from graph.settings import Settings

TEST_DATABASE_URL = os.environ.get("FLEETGRAPH_TEST_DATABASE_URL", "")
TEST_BROADCAST_URL = os.environ.get("FLEETGRAPH_TEST_BROADCAST_URL", "memory://")
MASTER_KEY = "5f" * 32


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = dict(
        data_dir=data_dir,
        database_url=TEST_DATABASE_URL,
        broadcast_url=TEST_BROADCAST_URL,
        master_key=MASTER_KEY,
        # tests call the watchdog themselves, with an explicit time (a ticking task would also skew SQL counts)
        router_watchdog_seconds=0,
    )
    values.update(overrides)
    return Settings(**values)


def wait_until_healthy(process, port: int, deadline_seconds: float = 60) -> None:
    """Poll a `fleetgraph serve` subprocess's /health (bounded) until it answers 200."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "server did not become healthy"
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
