"""Live router state at fan-out, fleetgraph side by side with a raw websocket server: how long from a
heartbeat until every entitled subscriber has the event, as the number of subscribers grows.

Seeds a scratch SQLite file under /tmp/bench-live-* with two organisations (A and B), each with as many
organisation admins as half the largest subscriber count, and one offline router at a location of A per event.
Starts real uvicorn processes on that file (`--processes` per side): fleetgraph as it ships (watchdog off),
and the raw limit (`create_plain_app`): a Starlette app whose heartbeat endpoint does the same update with
SQLAlchemy Core and whose websocket endpoint speaks the same graphql-transport-ws messages, with one batched
rights check per event (the subscribers' tokens, the router and its location: two statements) and one
orjson payload sent to every entitled socket. With `--redis`, both sides carry events between processes over
that Redis (fleetgraph its event bus, the raw side a Redis channel each process listens on), and the
subscribers are spread over the processes while heartbeats go to the first.

For each subscriber count S, in interleaved rounds (fleetgraph, raw, fleetgraph, raw): S websocket clients
(half admins of A, half of B) subscribe, and `--events` heartbeats are sent one after another, each for an
offline router of A, so each causes one ONLINE event; one more before them is not timed (the warm-up: on
fleetgraph the first event after the subscriptions opened also loads their grants). Measured per event:
from sending the heartbeat (the mutation that commits the change) until the last of A's subscribers has it,
so commit to receipt plus the request's way in; the heartbeat's own round trip is reported beside it. B's
subscribers must receive nothing (any event there aborts the run). One client process runs all the
websockets: its own reading is in both sides' numbers.

    .venv/bin/python bench/live_state.py                                   # S = 10, 100, 1000, 5000; 10 events
    .venv/bin/python bench/live_state.py --processes 2 --redis redis://127.0.0.1:6379
    .venv/bin/python bench/live_state.py --subscribers 10 100 --events 5   # a quick check

Results go to bench/results/live_state.json (live_state_2p.json for 2 processes); bench/README.md explains them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
ROUNDS = 2
RAW_CHANNEL = "bench-live-raw"


def create_plain_app(settings):
    """The raw limit: heartbeat and fan-out by hand (SQLAlchemy Core, orjson, Starlette websockets). With a
    Redis bus (FLEETGRAPH_BROADCAST_URL=redis://…) the heartbeat publishes the router on a Redis channel and
    every process fans out what it hears there to its own sockets, as fleetgraph's processes do."""
    import contextlib
    from datetime import UTC, datetime

    import orjson
    from sqlalchemy import select, update
    from sqlalchemy.ext.asyncio import create_async_engine
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    from graph.app import collect_garbage_less_often
    from graph.auth import bearer_token, hash_token
    from models import identity as m
    from models import remote as r

    engine = create_async_engine(settings.effective_database_url)
    redis = None
    if settings.broadcast_url.startswith("redis"):
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.broadcast_url)
    tokens, users, organisations = m.AuthToken.__table__, m.User.__table__, m.Organisation.__table__
    routers, locations = r.Router.__table__, r.Location.__table__
    #: socket -> (token hash, organisation path)
    subscribers: dict[WebSocket, tuple[str, str]] = {}

    async def valid_tokens(connection, hashes: list[str]) -> dict[str, str]:
        """token hash -> organisation path, for the usable access tokens among `hashes` (one statement)."""
        rows = await connection.execute(
            select(tokens.c.token_hash, organisations.c.path)
            .join(users, users.c.id == tokens.c.user_id)
            .join(organisations, organisations.c.id == users.c.organisation_id)
            .where(
                tokens.c.token_hash.in_(hashes),
                tokens.c.revoked_at.is_(None),
                tokens.c.expires_at > datetime.now(UTC),
                users.c.is_active.is_(True),
            )
        )
        return dict(rows.all())

    async def heartbeat(request):
        name = orjson.loads(await request.body())["n"]
        reporter = hash_token(bearer_token(request.headers.get("authorization")) or "")
        now = datetime.now(UTC)
        async with engine.begin() as connection:
            if not await valid_tokens(connection, [reporter]):
                return Response(b'{"error":"unauthenticated"}', status_code=401)
            flipped = (
                await connection.execute(
                    update(routers)
                    .where(routers.c.common_name == name, routers.c.online.is_(False))
                    .values(online=True, last_heartbeat_at=now, state_changed_at=now)
                    .returning(routers.c.id)
                )
            ).first()
        if flipped is not None:
            if redis is not None:
                await redis.publish(RAW_CHANNEL, orjson.dumps([flipped.id, now.isoformat()]))
            else:
                await fan_out(flipped.id, now)
        return Response(b'{"ok":true}', media_type="application/json")

    async def listen() -> None:
        async with redis.pubsub() as pubsub:
            await pubsub.subscribe(RAW_CHANNEL)
            async for message in pubsub.listen():
                if message["type"] == "message":
                    router_id, at = orjson.loads(message["data"])
                    await fan_out(router_id, datetime.fromisoformat(at))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        collect_garbage_less_often()  # as fleetgraph's server does: the comparison is not about the collector
        listening = asyncio.create_task(listen()) if redis is not None else None
        yield
        if listening is not None:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
            await redis.aclose()

    async def fan_out(router_id: int, at) -> None:
        watching = list(subscribers.items())
        async with engine.connect() as connection:
            usable = await valid_tokens(connection, [token for _, (token, _) in watching])
            row = (
                await connection.execute(
                    select(routers.c.common_name, routers.c.online, locations.c.name, organisations.c.path)
                    .join(organisations, organisations.c.id == routers.c.organisation_id)
                    .outerjoin(locations, locations.c.router_id == routers.c.id)
                    .where(routers.c.id == router_id)
                )
            ).one()
        event = {"kind": "ONLINE", "at": at.isoformat(), "router": {"commonName": row.common_name, "online": True}}
        event["location"] = {"name": row.name} if row.name is not None else None
        payload = orjson.dumps({"id": "1", "type": "next", "payload": {"data": {"routerConnectionState": event}}})
        text = payload.decode()
        for socket, (token, _) in watching:
            path = usable.get(token)
            if path is not None and row.path.startswith(path):
                await socket.send_text(text)

    async def websocket(socket: WebSocket) -> None:
        await socket.accept(subprotocol="graphql-transport-ws")
        try:
            init = orjson.loads(await socket.receive_text())
            token = hash_token(bearer_token(init.get("payload", {}).get("authorization")) or "")
            async with engine.connect() as connection:
                if not await valid_tokens(connection, [token]):
                    await socket.close(4403)
                    return
            await socket.send_text('{"type":"connection_ack"}')
            await socket.receive_text()  # the subscribe message: this server knows one subscription
            subscribers[socket] = (token, "")
            while True:
                await socket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            subscribers.pop(socket, None)

    async def health(request):
        return Response(b"ok")

    return Starlette(
        routes=[
            Route("/heartbeat", heartbeat, methods=["POST"]),
            Route("/health", health),
            WebSocketRoute("/ws", websocket),
        ],
        lifespan=lifespan,
    )


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

    async def run(self, opening: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect

        async with contextlib.AsyncExitStack() as stack:
            async with opening:
                ws = await stack.enter_async_context(
                    connect(self.url, subprotocols=["graphql-transport-ws"], open_timeout=60, max_queue=None)
                )
                await ws.send(
                    json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}})
                )
                ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
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
        "p99_ms": round(common.percentile(ordered, 99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "min_ms": round(ordered[0] * 1000, 2),
    }


async def measure(side: list, seeded: dict[str, Any], subscribers: int, routers: list[str], client) -> dict[str, Any]:
    """One side's block: S subscribers spread over its processes, one heartbeat per router to its first process."""
    import orjson

    raw = side[0].kind == "plain"
    urls = [server.base_url.replace("http://", "ws://") + ("/ws" if raw else "/graphql") for server in side]
    a_count = max(1, subscribers // 2) if subscribers > 1 else 1
    b_count = subscribers - a_count
    group_a = [Subscriber(urls[n % len(urls)], token) for n, token in enumerate(seeded["tokens"]["a"][:a_count])]
    group_b = [Subscriber(urls[n % len(urls)], token) for n, token in enumerate(seeded["tokens"]["b"][:b_count])]
    everyone = group_a + group_b
    opening = asyncio.Semaphore(100)  # a few at a time: 5,000 at once overflow the listen backlog
    for subscriber in everyone:
        subscriber.task = asyncio.create_task(subscriber.run(opening))
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in everyone)), 300)
    await asyncio.sleep(1.0 + subscribers / 500)  # the server registers the subscriptions after the subscribe message
    headers = common.graphql_headers(seeded["reporter"])
    base_url = side[0].base_url
    to_all, to_first, requests = [], [], []
    try:
        for number, name in enumerate(routers):
            sent = time.perf_counter()
            if raw:
                response = await client.post(
                    base_url + "/heartbeat", content=orjson.dumps({"n": name}), headers=headers
                )
                failed = response.status_code != 200
            else:
                response = await client.post(
                    base_url + "/graphql",
                    content=orjson.dumps({"query": HEARTBEAT, "variables": {"n": name}}),
                    headers=headers,
                )
                failed = response.status_code != 200 or response.json()["data"]["routerHeartbeat"]["errors"]
            request_time = time.perf_counter() - sent
            if failed:
                raise SystemExit(f"heartbeat failed: {response.text[:300]}")
            deadline = time.monotonic() + 60
            while not all(name in s.arrivals for s in group_a):
                if time.monotonic() > deadline:
                    raise SystemExit(f"not every subscriber of A got {name} within 60 s")
                for subscriber in everyone:
                    if subscriber.task.done():
                        subscriber.task.result()
                await asyncio.sleep(0.0005)
            if number == 0:
                continue  # the warm-up: the first event after the subscriptions opened also loads their grants
            times = [s.arrivals[name] - sent for s in group_a]
            to_all.append(max(times))
            to_first.append(min(times))
            requests.append(request_time)
        await asyncio.sleep(0.5)  # time for a wrongly routed event to show up at B
        leaked = sum(len(s.arrivals) for s in group_b)
        if leaked:
            raise SystemExit(f"B's subscribers received {leaked} events of A")
    finally:
        for subscriber in everyone:
            subscriber.task.cancel()
        await asyncio.gather(*(s.task for s in everyone), return_exceptions=True)
    return {
        "to_all": to_all,
        "to_first": to_first,
        "requests": requests,
        "subscribers_a": a_count,
        "subscribers_b": b_count,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from graph.app import collect_garbage_less_often
    from graph.settings import Settings

    if args.processes > 1 and not args.redis:
        raise SystemExit("--processes 2 needs --redis: processes share events over Redis")
    data_dir = Path(tempfile.mkdtemp(prefix="bench-live-", dir="/tmp"))
    master_key = secrets.token_hex(32)
    bus = args.redis or "memory://"
    settings = Settings(data_dir=data_dir, master_key=master_key, log_level="WARNING", broadcast_url=bus)
    counts = sorted(set(args.subscribers))
    per_side = args.events * ROUNDS
    seeded = await seed(settings, max(1, max(counts) // 2 + 1), (per_side + ROUNDS) * 2 * len(counts))
    # The client holds thousands of websockets too: its collector's stalls would land on either side at random.
    collect_garbage_less_often()
    env = common.server_env(data_dir, "", master_key) | {
        "FLEETGRAPH_ROUTER_WATCHDOG_SECONDS": "0",
        "FLEETGRAPH_BROADCAST_URL": bus,
        # one user may hold many subscriptions here (A's and B's admins are distinct, but be safe at 5,000)
        "FLEETGRAPH_SUBSCRIPTIONS_PER_USER": "100000",
    }
    sides = {kind: [common.Server(__file__, kind, env) for _ in range(args.processes)] for kind in ("graphql", "plain")}
    client = httpx.AsyncClient(timeout=60)
    results = []
    try:
        for side in sides.values():
            for server in side:
                await server.wait_ready(client, "/health")
        routers = iter(seeded["routers"])
        for count in counts:
            samples: dict[str, list[float]] = {"graphql": [], "plain": []}
            requests: dict[str, list[float]] = {"graphql": [], "plain": []}
            for _ in range(ROUNDS):  # interleaved: fleetgraph, raw, fleetgraph, raw
                for kind, side in sides.items():
                    batch = [next(routers) for _ in range(args.events + 1)]  # the first one warms up
                    measured = await measure(side, seeded, count, batch, client)
                    samples[kind] += measured["to_all"]
                    requests[kind] += measured["requests"]
            fleetgraph, raw = summarise(samples["graphql"]), summarise(samples["plain"])
            result = {
                "subscribers": count,
                "subscribers_a": measured["subscribers_a"],
                "events_per_side": len(samples["plain"]),
                "fleetgraph_all_a": fleetgraph,
                "raw_all_a": raw,
                "ratio_median": round(fleetgraph["median_ms"] / raw["median_ms"], 2),
                "ratio_p99": round(fleetgraph["p99_ms"] / raw["p99_ms"], 2),
                "fleetgraph_heartbeat_request": summarise(requests["graphql"]),
                "raw_heartbeat_request": summarise(requests["plain"]),
            }
            print(
                f"S={count:5d}: fleetgraph {fleetgraph['median_ms']:8.1f} / {fleetgraph['p99_ms']:8.1f} ms, "
                f"raw {raw['median_ms']:7.1f} / {raw['p99_ms']:7.1f} ms (p50 / p99), "
                f"ratio {result['ratio_median']:.2f} / {result['ratio_p99']:.2f}; B got nothing",
                flush=True,
            )
            results.append(result)
    finally:
        await client.aclose()
        for side in sides.values():
            for server in side:
                server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "benchmark": "live_state",
        "machine": common.machine(),
        "processes": args.processes,
        "bus": "redis" if args.redis else "memory",
        "events_per_count": args.events,
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[10, 100, 1000, 5000])
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--processes", type=int, default=1, help="server processes per side (2 needs --redis)")
    parser.add_argument("--redis", help="the event bus, e.g. redis://127.0.0.1:6379 (default: in memory)")
    parser.add_argument("--output", help="default: bench/results/live_state.json, live_state_2p.json for 2 processes")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        common.serve(args.serve, args.port, create_plain_app=create_plain_app)
        return
    name = "live_state.json" if args.processes == 1 else f"live_state_{args.processes}p.json"
    common.write_report(asyncio.run(run(args)), args.output or str(common.ROOT / "bench" / "results" / name))


if __name__ == "__main__":
    main()
