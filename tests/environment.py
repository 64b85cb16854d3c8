"""What the tests run against: the database and bus (from the environment), settings, free ports and
`fleetgraph` server processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from graph.settings import Settings

TEST_DATABASE_URL = os.environ.get("FLEETGRAPH_TEST_DATABASE_URL", "")
TEST_BROADCAST_URL = os.environ.get("FLEETGRAPH_TEST_BROADCAST_URL", "memory://")
MASTER_KEY = "5f" * 32
FLEETGRAPH = str(Path(sys.executable).with_name("fleetgraph"))


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = dict(
        data_dir=data_dir,
        database_url=TEST_DATABASE_URL,
        broadcast_url=TEST_BROADCAST_URL,
        master_key=MASTER_KEY,
        # tests call the watchdog themselves, with an explicit time (a ticking task would also skew SQL counts)
        router_watchdog_seconds=0,
        # likewise the datalog upload timer (tests/monitoring/test_datalog_upload.py runs its rounds itself)
        datalog_timer_seconds=0,
        # the same for the alarm timer (tests call resolvers.monitoring.workers.alarm_timer.raise_due)
        alarm_timer_seconds=0,
        telemetry_purge_seconds=0,  # likewise the telemetry purge (tests/monitoring/test_telemetry_retention.py)
        # tests deliver the outbound queue themselves (resolvers.monitoring.delivery.engine.deliver_due)
        delivery_poll_seconds=0,
        # the tests' InfluxDB, Blockbax and MQTT receivers listen on 127.0.0.1
        forwarding_private_addresses=True,
        # tests run the integration scheduler's rounds themselves (resolvers.metering.integrations.scheduler)
        metering_scheduler_seconds=0,
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


def run_fleetgraph(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess:
    """`fleetgraph *args` on its own data directory, without the FLEETGRAPH_* settings of this process; `input` is
    its standard input (a secret a command reads)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    environment.update(FLEETGRAPH_DATA_DIR=str(data_dir), **(env or {}))
    return subprocess.run(
        [FLEETGRAPH, *args], env=environment, capture_output=True, text=True, timeout=timeout, input=input
    )


@contextlib.asynccontextmanager
async def serve_app(app) -> AsyncIterator[str]:
    """An ASGI app (a local HTTP receiver: a forwarding platform, an SMS gateway) served by uvicorn on 127.0.0.1
    while the block runs; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def app_client(app, client: tuple[str, int] | None = None) -> httpx.AsyncClient:
    """An HTTP client of the app run in-process (no server); `client` is the peer address the app sees."""
    transport = httpx.ASGITransport(app=app, client=client) if client else httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@dataclass
class ServedDemo:
    base_url: str
    data_dir: Path
    #: What the server printed, once it has stopped.
    output: str = ""
    process: subprocess.Popen | None = None


@contextlib.contextmanager
def serve_demo(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[ServedDemo]:
    """`fleetgraph serve --demo` (the README's first command) on a free port and its own data directory,
    without the FLEETGRAPH_* settings of this process; healthy when entered, stopped when left."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    environment.update(FLEETGRAPH_DATA_DIR=str(data_dir), **(env or {}))
    process = subprocess.Popen(
        [FLEETGRAPH, "serve", "--demo", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = ServedDemo(f"http://127.0.0.1:{port}", data_dir, process=process)
    try:
        wait_until_healthy(process, port)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
        served.output = process.communicate(timeout=30)[0]
