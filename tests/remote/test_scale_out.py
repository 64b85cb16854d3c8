"""Scale-out, shown with real processes: two `fleetgraph serve` processes sharing PostgreSQL and Redis.
A heartbeat sent to process A (HTTP mutation) brings a router online; a websocket subscriber connected to
process B receives the ONLINE event.

The processes get a database of their own (created and dropped here): the test suite resets the schema
of the shared `test` database and truncates its tables between tests, which must not pull the ground away
from two servers that migrated it themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from graph.relay import to_global_id
from models import identity as m
from models import remote as r
from tests.environment import (
    FLEETGRAPH,
    MASTER_KEY,
    TEST_BROADCAST_URL,
    TEST_DATABASE_URL,
    free_port,
    wait_until_healthy,
)
from tests.factories import add_organisation, add_user, issue_token
from tests.remote.helpers import HEARTBEAT
from tests.waiting import DEADLINE
from tests.websocket import create_user, init, receive, ws_connect

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL.startswith("postgresql") and TEST_BROADCAST_URL.startswith(("redis://", "rediss://"))),
    reason="needs PostgreSQL and Redis: set FLEETGRAPH_TEST_DATABASE_URL=postgresql+asyncpg://… "
    "and FLEETGRAPH_TEST_BROADCAST_URL=redis://…",
)


STATE = """subscription($filter: RouterConnectionStateFilter, $after: String) {
  routerConnectionState(filter: $filter, after: $after) { kind router { commonName online } }
}"""
AUDIT = """subscription($after: String) { auditEventRecorded(after: $after) { cursor action details } }"""
ROUTER_ID = 900_000_001


async def create_database(name: str) -> str:
    admin = create_async_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


async def drop_database(name: str) -> None:
    admin = create_async_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def seed(url: str) -> dict[str, str]:
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
            organisation = await add_organisation(session, "Scale-out Org")
            admin = await add_user(session, organisation, "admin@scale.example", [m.Role.ORGANISATION_ADMIN])
            reporter = await add_user(session, organisation, "router@scale.example", [m.Role.API_USER])
            session.add(
                r.Router(
                    id=ROUTER_ID,
                    common_name="R_SCALEOUT1",
                    mac_address="02:00:00:00:5C:01",
                    serial_number="SN-SCALE-1",
                    organisation_id=organisation.id,
                    online=False,
                )
            )
            return {
                "admin": await issue_token(session, admin),
                "reporter": await issue_token(session, reporter),
                "path": organisation.path,
            }
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def two_processes_on_one_database(tmp_path):
    """A fresh migrated and seeded database served by two `fleetgraph serve` processes: (tokens, port A, port B)."""
    name = f"fleetgraph_scaleout_{secrets.token_hex(6)}"
    url = await create_database(name)
    processes: list[subprocess.Popen] = []
    try:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
        environment.update(
            FLEETGRAPH_DATABASE_URL=url,
            FLEETGRAPH_BROADCAST_URL=TEST_BROADCAST_URL,
            FLEETGRAPH_MASTER_KEY=MASTER_KEY,
            FLEETGRAPH_DATA_DIR=str(tmp_path),
            FLEETGRAPH_LOG_LEVEL="WARNING",
        )
        migrated = subprocess.run([FLEETGRAPH, "migrate"], env=environment, capture_output=True, text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stderr
        tokens = await seed(url)

        ports = [free_port(), free_port()]
        for port in ports:
            # log level WARNING: little output, so the pipe (read only on failure) never fills up
            processes.append(
                subprocess.Popen(
                    [FLEETGRAPH, "serve", "--port", str(port)],
                    env=environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        for process, port in zip(processes, ports, strict=True):
            wait_until_healthy(process, port)
        port_a, port_b = ports

        yield tokens, port_a, port_b
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        await drop_database(name)


async def test_an_event_caused_through_process_a_reaches_a_subscriber_of_process_b(tmp_path):
    async with (
        two_processes_on_one_database(tmp_path) as (tokens, port_a, port_b),
        ws_connect(f"127.0.0.1:{port_b}") as ws,
    ):
        ack = await init(ws, tokens["admin"])
        assert ack["type"] == "connection_ack", ack
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": STATE,
                        # from the start of the log: whenever B's subscription is in place, it misses nothing
                        "variables": {"filter": {"routerIds": [to_global_id("Router", ROUTER_ID)]}, "after": "0"},
                    },
                }
            )
        )

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}", timeout=DEADLINE) as http:
            response = await http.post(
                "/graphql",
                json={
                    "query": HEARTBEAT,
                    "variables": {"input": {"commonName": "R_SCALEOUT1", "status": {"cpuLoad": 5}}},
                },
                headers={"Authorization": f"Bearer {tokens['reporter']}"},
            )
        heartbeat = response.json()["data"]["routerHeartbeat"]
        assert heartbeat["errors"] == [] and heartbeat["router"]["online"], heartbeat

        message = await receive(ws)
        assert message["type"] == "next", message
        event = message["payload"]["data"]["routerConnectionState"]
        assert event == {"kind": "ONLINE", "router": {"commonName": "R_SCALEOUT1", "online": True}}


async def audit_subscribe(ws, token: str, after: str) -> None:
    ack = await init(ws, token)
    assert ack["type"] == "connection_ack", ack
    message = {"id": "1", "type": "subscribe", "payload": {"query": AUDIT, "variables": {"after": after}}}
    await ws.send(json.dumps(message))


async def next_user_created(ws) -> tuple[str, str]:
    message = await receive(ws)
    assert message["type"] == "next", message
    event = message["payload"]["data"]["auditEventRecorded"]
    assert event["action"] == "user.created", event
    return event["cursor"], event["details"]["email"]


async def test_a_subscriber_resumes_with_its_cursor_on_the_other_process(tmp_path):
    """Disconnected from B, the subscriber misses 50 events made through A; back on A with its cursor it gets
    exactly those 50, in order, then live ones."""
    async with two_processes_on_one_database(tmp_path) as (tokens, port_a, port_b):
        address_a, address_b = f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"
        async with ws_connect(address_b) as ws:
            await audit_subscribe(ws, tokens["admin"], "0")
            assert (await create_user(address_a, tokens["admin"], "first@scale.example"))["errors"] == []
            cursor, email = await next_user_created(ws)
            assert email == "first@scale.example"

        missed = [f"missed-{n:02d}@scale.example" for n in range(50)]
        for email in missed:
            assert (await create_user(address_a, tokens["admin"], email))["errors"] == []

        async with ws_connect(address_a) as ws:
            await audit_subscribe(ws, tokens["admin"], cursor)
            replayed = [await next_user_created(ws) for _ in missed]
            assert [email for _, email in replayed] == missed
            cursors = [int(cursor) for cursor, _ in replayed]
            assert cursors == sorted(cursors) and len(set(cursors)) == 50
            assert (await create_user(address_b, tokens["admin"], "live@scale.example"))["errors"] == []
            assert (await next_user_created(ws))[1] == "live@scale.example"
