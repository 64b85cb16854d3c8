"""The event bus comes back after a Redis outage, without a process restart.

The test brings its own `redis-server` (on a free loopback port) so that it can kill and restart
it. That makes it independent of FLEETGRAPH_TEST_BROADCAST_URL, and it runs on SQLite too. The
server under test is a real uvicorn with its own runtime and a SQLite file, and a real websocket
client talks to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time

import httpx
import pytest
import redis
import uvicorn

from graph.app import create_app
from graph.runtime import Runtime
from models import identity as m
from tests.environment import free_port, make_settings
from tests.factories import add_organisation, add_user, issue_token
from tests.waiting import DEADLINE, until
from tests.websocket import create_user, receive, subscribe, ws_connect

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
pytestmark = pytest.mark.skipif(shutil.which(REDIS_SERVER) is None, reason="redis-server is not installed")
#: How long the bus may take to come back once Redis is up again (its retries are 0.05 s doubling to 0.4 s here).
RECOVERY_DEADLINE = 30.0


class RedisServer:
    """A throw-away redis-server on 127.0.0.1:<port>: no persistence, killed hard to simulate an outage."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--save", "", "--appendonly", "no", "--port", str(self.port), "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + DEADLINE
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    pass
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # SIGKILL: connections drop as in a crash, not a polite shutdown
            self.process.wait(10)


async def health(http: httpx.AsyncClient) -> tuple[int, str]:
    response = await http.get("/health")
    return response.status_code, response.json()["checks"]["eventBus"]


@contextlib.asynccontextmanager
async def served_on_redis(tmp_path):
    """A started runtime on its own Redis, served by uvicorn: (redis server, runtime, address, admin token)."""
    redis_server = RedisServer(free_port())
    redis_server.start()
    runtime = Runtime(make_settings(tmp_path, database_url="", broadcast_url=f"redis://127.0.0.1:{redis_server.port}"))
    runtime.bus.reconnect_initial, runtime.bus.reconnect_max = 0.05, 0.4
    server = task = None
    try:
        await runtime.start(auto_migrate=True)
        async with runtime.session_factory() as session, session.begin():
            organisation = await add_organisation(session, "Tenant A")
            token = await issue_token(
                session, await add_user(session, organisation, "admin@a.example", [m.Role.ORGANISATION_ADMIN])
            )
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(runtime.settings, runtime=runtime),
                host="127.0.0.1",
                port=port,
                lifespan="off",
                log_level="warning",
                ws="websockets-sansio",
            )
        )
        task = asyncio.create_task(server.serve())
        await until(lambda: server.started, "uvicorn to start")
        yield redis_server, runtime, f"127.0.0.1:{port}", token
    finally:
        if server is not None:
            server.should_exit = True
            await asyncio.wait_for(task, DEADLINE)
        await runtime.stop()
        redis_server.kill()


async def test_subscribers_get_every_event_exactly_once_through_a_redis_outage(tmp_path):
    """Redis is killed while subscribers listen and events are committed, then started again: no subscriber is
    dropped, each gets every event once and in order (the event log carries them while Redis is away), and the
    bus comes back by itself, without a process restart."""
    async with (
        served_on_redis(tmp_path) as (redis_server, runtime, address, token),
        httpx.AsyncClient(base_url=f"http://{address}", timeout=DEADLINE) as http,
        contextlib.AsyncExitStack() as stack,
    ):
        assert await health(http) == (200, "ok")
        sockets = [await stack.enter_async_context(ws_connect(address)) for _ in range(3)]
        for ws in sockets:
            await subscribe(ws, token)
        await until(lambda: runtime.events.subscriber_count == 3, "three subscriptions to listen")
        committed = ["before@a.example"]
        assert (await create_user(address, token, committed[-1]))["errors"] == []

        redis_server.kill()
        await until(lambda: not runtime.bus.healthy, "the bus to notice the outage")
        assert await health(http) == (200, "degraded")
        for n in range(3):
            committed.append(f"during-{n}@a.example")
            assert (await create_user(address, token, committed[-1]))["errors"] == []
        # While Redis is away the bus keeps trying; the API and the subscriptions go on.
        await until(lambda: runtime.bus.reconnect_failures >= 3, "three failed reconnects")
        assert runtime.bus.reconnects == 0

        redis_server.start()  # the same port: the bus's URL is unchanged
        end = time.monotonic() + RECOVERY_DEADLINE
        while await health(http) != (200, "ok"):
            assert time.monotonic() < end, "the bus did not come back"
            await asyncio.sleep(0.05)
        assert runtime.bus.reconnects == 1
        await until(lambda: runtime.events.live, "the stream to listen on the bus again")
        committed.append("after@a.example")
        assert (await create_user(address, token, committed[-1]))["errors"] == []

        for ws in sockets:
            heard = []
            for _ in committed:
                message = await receive(ws)
                assert message["type"] == "next", message
                heard.append(message["payload"]["data"]["auditEventRecorded"]["details"]["email"])
            assert heard == committed
        # and nothing twice: the next thing on each socket is a later event, not a repeat
        assert (await create_user(address, token, "last@a.example"))["errors"] == []
        for ws in sockets:
            message = await receive(ws)
            assert message["payload"]["data"]["auditEventRecorded"]["details"]["email"] == "last@a.example"
