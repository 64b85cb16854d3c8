"""Live router state at fan-out: how long until every entitled websocket subscriber has an event, as
the number of subscribers grows.

Seeds a scratch SQLite file under /tmp/bench-live-* with two organisations (A and B), each with as
many organisation admins as the largest subscriber count, and 1 router at a location per event in A.
Starts fleetgraph as a real uvicorn process (memory event bus, watchdog off), then for each
subscriber count S: S websocket clients (graphql-transport-ws; half of them admins of A, half of B)
subscribe to `routerConnectionState`, and `--events` heartbeats are sent one after another through
HTTP, each for a router of A that is offline, so each causes one ONLINE event. Measured per event:
from sending the heartbeat until the last of A's subscribers has it ("all A"), and until the first
has it ("first"). B's subscribers must receive nothing (checked: any event there aborts the run).

Every event costs each subscriber a re-check of its token and a load of the router through its own
visibility (resolvers/remote/connections/schema.py), so the time to reach all grows with S: this shows how fast.

    .venv/bin/python bench/live_state.py                             # S = 1, 10, 50, 100; 50 events each
    .venv/bin/python bench/live_state.py --subscribers 1 10 --events 10   # a quick check

Results go to bench/results/live_state.json; bench/README.md explains them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import common

SUBSCRIPTION = "subscription { routerConnectionState { kind at router { commonName online } location { name } } }"
HEARTBEAT = "mutation($n: String!) { routerHeartbeat(input: {commonName: $n}) { errors { code } } }"


async def seed(settings, admins_per_org: int, routers: int) -> dict[str, Any]:
    """Migrate, then insert both organisations, their admins with access tokens, A's API user and routers."""
    from graph.auth import hash_token, new_token
    from graph.runtime import Runtime
    from models import identity as m
    from models import remote as r
    from models.base import utcnow

    runtime = Runtime(settings)
    await runtime.start(auto_migrate=True)
    try:
        now = utcnow()
        tokens: dict[str, list[str]] = {"a": [], "b": []}
        async with runtime.session_factory() as session, session.begin():
            organisations = {}
            for key in ("a", "b"):
                organisation = m.Organisation(name=f"Bench {key.upper()}", public_id=str(uuid.uuid4()), path="")
                session.add(organisation)
                await session.flush()
                organisation.path = f"/{organisation.id}/"
                organisations[key] = organisation

            async def user(key: str, email: str, role: m.Role) -> str:
                row = m.User(organisation_id=organisations[key].id, name=email, email=email, password_hash="!")
                session.add(row)
                await session.flush()
                session.add(m.UserRole(user_id=row.id, role=role))
                token = new_token(m.TokenKind.ACCESS)
                session.add(
                    m.AuthToken(
                        user_id=row.id,
                        kind=m.TokenKind.ACCESS,
                        token_hash=hash_token(token),
                        session_id=str(uuid.uuid4()),
                        authenticated_at=now,
                        expires_at=now + timedelta(hours=6),
                    )
                )
                return token

            for key in ("a", "b"):
                for n in range(admins_per_org):
                    tokens[key].append(await user(key, f"admin{n}@{key}.bench", m.Role.ORGANISATION_ADMIN))
            reporter = await user("a", "router@a.bench", m.Role.API_USER)
            names = [f"R_BENCH{n:05d}" for n in range(routers)]
            for n, name in enumerate(names):
                router = r.Router(
                    common_name=name,
                    mac_address=f"02:00:00:{n >> 16 & 255:02X}:{n >> 8 & 255:02X}:{n & 255:02X}",
                    serial_number=f"BENCH-{n}",
                    organisation_id=organisations["a"].id,
                )
                session.add(router)
                await session.flush()
                session.add(r.Location(organisation_id=organisations["a"].id, name=f"Site {n}", router_id=router.id))
        return {"tokens": tokens, "reporter": reporter, "routers": names}
    finally:
        await runtime.stop()


class Subscriber:
    """One websocket client with one routerConnectionState subscription; records when each event arrives."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.arrivals: dict[str, float] = {}
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def run(self) -> None:
        from websockets.asyncio.client import connect

        async with connect(self.url, subprotocols=["graphql-transport-ws"], open_timeout=30, max_queue=None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if ack["type"] != "connection_ack":
                raise SystemExit(f"websocket refused: {ack}")
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
            self.ready.set()
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] != "next":
                    raise SystemExit(f"unexpected message: {message}")
                event = message["payload"]["data"]["routerConnectionState"]
                self.arrivals[event["router"]["commonName"]] = time.perf_counter()


def summarise(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p90_ms": round(common.percentile(ordered, 90) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "min_ms": round(ordered[0] * 1000, 2),
    }


async def measure(
    base_url: str, seeded: dict[str, Any], subscribers: int, routers: list[str], client
) -> dict[str, Any]:
    import orjson

    ws_url = base_url.replace("http://", "ws://") + "/graphql"
    a_count = max(1, subscribers // 2) if subscribers > 1 else 1
    b_count = subscribers - a_count
    group_a = [Subscriber(ws_url, token) for token in seeded["tokens"]["a"][:a_count]]
    group_b = [Subscriber(ws_url, token) for token in seeded["tokens"]["b"][:b_count]]
    everyone = group_a + group_b
    for subscriber in everyone:
        subscriber.task = asyncio.create_task(subscriber.run())
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in everyone)), 60)
    await asyncio.sleep(1.0)  # the server registers the subscriptions after the subscribe message
    headers = common.graphql_headers(seeded["reporter"])
    to_all, to_first = [], []
    try:
        for name in routers:
            sent = time.perf_counter()
            response = await client.post(
                base_url + "/graphql",
                content=orjson.dumps({"query": HEARTBEAT, "variables": {"n": name}}),
                headers=headers,
            )
            if response.status_code != 200 or response.json()["data"]["routerHeartbeat"]["errors"]:
                raise SystemExit(f"heartbeat failed: {response.text[:300]}")
            deadline = time.monotonic() + 60
            while not all(name in s.arrivals for s in group_a):
                if time.monotonic() > deadline:
                    raise SystemExit(f"not every subscriber of A got {name} within 60 s")
                for subscriber in everyone:
                    if subscriber.task.done():
                        subscriber.task.result()
                await asyncio.sleep(0.0005)
            times = [s.arrivals[name] - sent for s in group_a]
            to_all.append(max(times))
            to_first.append(min(times))
        await asyncio.sleep(0.5)  # time for a wrongly routed event to show up at B
        leaked = sum(len(s.arrivals) for s in group_b)
        if leaked:
            raise SystemExit(f"B's subscribers received {leaked} events of A")
    finally:
        for subscriber in everyone:
            subscriber.task.cancel()
        await asyncio.gather(*(s.task for s in everyone), return_exceptions=True)
    return {
        "subscribers": subscribers,
        "subscribers_a": a_count,
        "subscribers_b": b_count,
        "events": len(routers),
        "all_a": summarise(to_all),
        "first_a": summarise(to_first),
        "events_at_b": 0,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from graph.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="bench-live-", dir="/tmp"))
    master_key = secrets.token_hex(32)
    settings = Settings(data_dir=data_dir, master_key=master_key, log_level="WARNING")
    counts = sorted(set(args.subscribers))
    total_routers = args.events * len(counts)
    seeded = await seed(settings, max(1, max(counts) // 2 + 1), total_routers)
    env = common.server_env(data_dir, "", master_key) | {"FLEETGRAPH_ROUTER_WATCHDOG_SECONDS": "0"}
    server = common.Server(__file__, "graphql", env)
    client = httpx.AsyncClient(timeout=60)
    results = []
    try:
        await server.wait_ready(client, "/health")
        routers = iter(seeded["routers"])
        for count in counts:
            batch = [next(routers) for _ in range(args.events)]
            result = await measure(server.base_url, seeded, count, batch, client)
            print(
                f"S={count:4d}: all of A {result['all_a']['median_ms']:8.2f} ms median, "
                f"{result['all_a']['p90_ms']:8.2f} p90; first {result['first_a']['median_ms']:7.2f} ms; B got nothing"
            )
            results.append(result)
    finally:
        await client.aclose()
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"benchmark": "live_state", "machine": common.machine(), "events_per_count": args.events, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1, 10, 50, 100])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--output", default=str(common.ROOT / "bench" / "results" / "live_state.json"))
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        common.serve(args.serve, args.port, create_plain_app=None)
        return
    common.write_report(asyncio.run(run(args)), args.output)


if __name__ == "__main__":
    main()
