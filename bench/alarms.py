"""Alarm fan-out: from a telemetry point's ingest until every entitled `alarms` subscriber has the alarm event,
fleetgraph side by side with a raw websocket server, as the number of subscribers grows.

Seeds a scratch SQLite file under /tmp/bench-alarms-* with two organisations (A and B), each with as many
organisation admins as half the largest subscriber count, a location with a device, a temperature series and
the alarm profile HIGH_TEMPERATURE (> 80 raises, < 75 clears) on A's location. Starts a real uvicorn process
per side on that file, both listening to Redis (which carries the events between processes):

- fleetgraph as it ships (watchdog and alarm timer off), subscribed with `subscription { alarms { … } } }`;
- the raw limit (`create_plain_app`): a Starlette websocket endpoint speaking the same graphql-transport-ws
  messages that, per event heard on a Redis channel, checks all its sockets' tokens and reads the alarm with
  its location in one batch (two statements) and sends one orjson payload to every entitled socket.

The ingest runs in this process, as an ingest worker of another process would (MQTT, or the batch mutation
of a second server): fleetgraph's side writes the point and its series and calls POINTS_STORED in one
transaction (`graph.workers.transaction`: the alarm is raised or cleared there, the event logged with the
commit and published on Redis); the raw side writes the point, the series and the alarm with SQLAlchemy
Core in one transaction and publishes the alarm's id on its Redis channel. Each event alternately raises
(90) and clears (70) the alarm. Measured per event: from the start of the ingest transaction until the last
of A's subscribers has the event. B's subscribers must receive nothing.

    .venv/bin/python bench/alarms.py                                  # S = 10, 100, 1000; 10 events per round
    .venv/bin/python bench/alarms.py --subscribers 10 100 --events 5  # a quick check

Needs Redis (default redis://127.0.0.1:6379). Results go to bench/results/alarms.json; bench/README.md explains.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import shutil
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import common
from live_state import summarise  # the same percentiles as the router-state bench

SUBSCRIPTION = "subscription { alarms { kind state alarm { profileName severity lastValue } location { name } } }"
ROUNDS = 2
RAW_CHANNEL = "bench-alarms-raw"


def create_plain_app(settings):
    """The raw limit: per alarm id heard on the Redis channel, one batched rights check for all sockets and one
    payload to every entitled socket (SQLAlchemy Core, orjson, Starlette websockets)."""
    from datetime import UTC, datetime

    import orjson
    from redis.asyncio import Redis
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    from graph.app import collect_garbage_less_often
    from graph.auth import bearer_token, hash_token
    from models import alarms as al
    from models import identity as m
    from models import remote as r

    engine = create_async_engine(settings.effective_database_url)
    redis = Redis.from_url(settings.broadcast_url)
    tokens, users, organisations = m.AuthToken.__table__, m.User.__table__, m.Organisation.__table__
    alarms, locations = al.Alarm.__table__, r.Location.__table__
    subscribers: dict[WebSocket, str] = {}

    async def valid_tokens(connection, hashes: list[str]) -> dict[str, str]:
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

    async def fan_out(alarm_id: int, kind: str) -> None:
        watching = list(subscribers.items())
        async with engine.connect() as connection:
            usable = await valid_tokens(connection, [token for _, token in watching])
            row = (
                await connection.execute(
                    select(alarms, locations.c.name.label("location_name"), organisations.c.path)
                    .join(locations, locations.c.id == alarms.c.location_id)
                    .join(organisations, organisations.c.id == locations.c.organisation_id)
                    .where(alarms.c.id == alarm_id)
                )
            ).one()
        state = f"{'CLEARED' if row.cleared else 'ACTIVE'}_{'ACK' if row.acknowledged else 'UNACK'}"
        alarm = {
            "profileName": row.profile_name,
            "severity": row.severity,
            "lastValue": row.last_value,
        }
        event = {"kind": kind, "state": state, "alarm": alarm, "location": {"name": row.location_name}}
        text = orjson.dumps({"id": "1", "type": "next", "payload": {"data": {"alarms": event}}}).decode()
        for socket, token in watching:
            path = usable.get(token)
            if path is not None and row.path.startswith(path):
                await socket.send_text(text)

    async def listen() -> None:
        async with redis.pubsub() as pubsub:
            await pubsub.subscribe(RAW_CHANNEL)
            async for message in pubsub.listen():
                if message["type"] == "message":
                    alarm_id, kind = orjson.loads(message["data"])
                    await fan_out(alarm_id, kind)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        collect_garbage_less_often()
        listening = asyncio.create_task(listen())
        yield
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        await redis.aclose()

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
            subscribers[socket] = token
            while True:
                await socket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            subscribers.pop(socket, None)

    async def health(request):
        return Response(b"ok")

    return Starlette(routes=[Route("/health", health), WebSocketRoute("/ws", websocket)], lifespan=lifespan)


async def seed(runtime, admins_per_org: int) -> dict[str, Any]:
    """Both organisations with their admins' access tokens, a location with a device each, A's profile."""
    from graph.auth import hash_token, new_token
    from models import alarms as al
    from models import identity as m
    from models import remote as r
    from models import telemetry as tel
    from models.base import utcnow

    now = utcnow()
    tokens: dict[str, list[str]] = {"a": [], "b": []}
    sites: dict[str, tuple[int, int, int, int]] = {}
    async with runtime.session_factory() as session, session.begin():
        for key in ("a", "b"):
            organisation = m.Organisation(name=f"Bench {key.upper()}", public_id=str(uuid.uuid4()), path="")
            session.add(organisation)
            await session.flush()
            organisation.path = f"/{organisation.id}/"
            for n in range(admins_per_org):
                user = m.User(
                    organisation_id=organisation.id, name=f"a{n}", email=f"admin{n}@{key}.bench", password_hash="!"
                )
                session.add(user)
                await session.flush()
                session.add(m.UserRole(user_id=user.id, role=m.Role.ORGANISATION_ADMIN))
                token = new_token(m.TokenKind.ACCESS)
                session.add(
                    m.AuthToken(
                        user_id=user.id,
                        kind=m.TokenKind.ACCESS,
                        token_hash=hash_token(token),
                        session_id=str(uuid.uuid4()),
                        authenticated_at=now,
                        expires_at=now + timedelta(hours=6),
                    )
                )
                tokens[key].append(token)
            location = r.Location(organisation_id=organisation.id, name=f"Site {key}")
            session.add(location)
            await session.flush()
            device = r.LocationDevice(location_id=location.id, name="HMI", ip_address="10.0.0.1")
            session.add(device)
            await session.flush()
            series = tel.TelemetrySeries(
                organisation_id=organisation.id, location_id=location.id, device_id=device.id, key="temperature"
            )
            profile = al.AlarmProfile(
                organisation_id=organisation.id, name="HIGH_TEMPERATURE", severity=al.Severity.HIGH
            )
            session.add_all([series, profile])
            await session.flush()
            for kind, condition, value in (
                (al.FilterKind.ACTIVATION, al.Condition.GT, 80.0),
                (al.FilterKind.CLEARING, al.Condition.LT, 75.0),
            ):
                session.add(
                    al.AlarmProfileFilter(
                        profile_id=profile.id,
                        kind=kind,
                        position=0,
                        key="temperature",
                        condition=condition,
                        value=value,
                    )
                )
            session.add(al.AlarmProfileLocation(profile_id=profile.id, location_id=location.id))
            sites[key] = (organisation.id, location.id, device.id, series.id)
    return {"tokens": tokens, "sites": sites}


async def ingest_fleetgraph(runtime, site, at, value: float) -> None:
    """As telemetry ingest does it: the point, the series' latest value and POINTS_STORED in one transaction."""
    from sqlalchemy import insert, update

    from graph.workers import transaction
    from models import telemetry as tel
    from resolvers.monitoring.hooks import POINTS_STORED, StoredPoint

    organisation, location, device, series = site
    async with transaction(runtime) as session:
        await session.execute(insert(tel.TelemetryPoint).values(series_id=series, at=at, value=value))
        await session.execute(
            update(tel.TelemetrySeries).where(tel.TelemetrySeries.id == series).values(last_at=at, last_value=value)
        )
        await POINTS_STORED(session, [StoredPoint(organisation, location, device, series, "temperature", at, value)])


async def ingest_raw(engine, redis, site, at, value: float) -> None:
    """The same writes by hand: point, series, the alarm raised or cleared (the profile known), then publish."""
    import orjson
    from sqlalchemy import insert, select, update

    from models import alarms as al
    from models import telemetry as tel

    organisation, location, device, series = site
    async with engine.begin() as connection:
        await connection.execute(insert(tel.TelemetryPoint).values(series_id=series, at=at, value=value))
        await connection.execute(
            update(tel.TelemetrySeries).where(tel.TelemetrySeries.id == series).values(last_at=at, last_value=value)
        )
        key = f"raw:{location}:{device}"
        if value > 80:
            profile = (
                await connection.execute(
                    select(al.AlarmProfile.id).where(al.AlarmProfile.organisation_id == organisation)
                )
            ).scalar_one()
            alarm_id = (
                await connection.execute(
                    insert(al.Alarm)
                    .values(
                        organisation_id=organisation,
                        profile_id=profile,
                        profile_name="HIGH_TEMPERATURE",
                        severity="HIGH",
                        location_id=location,
                        device_id=device,
                        open_key=key,
                        raised_at=at,
                        updated_at=at,
                        occurrences=1,
                        last_key="temperature",
                        last_value=value,
                        acknowledged=False,
                        cleared=False,
                    )
                    .returning(al.Alarm.id)
                )
            ).scalar_one()
            kind = "RAISED"
        else:
            alarm_id = (
                await connection.execute(
                    update(al.Alarm)
                    .where(al.Alarm.open_key == key)
                    .values(cleared=True, cleared_at=at, updated_at=at, open_key=None)
                    .returning(al.Alarm.id)
                )
            ).scalar_one()
            kind = "CLEARED"
    await redis.publish(RAW_CHANNEL, orjson.dumps([alarm_id, kind]))


class Subscriber:
    """One websocket client with one `alarms` subscription; records when each event arrives."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.arrivals: list[float] = []
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
                self.arrivals.append(time.perf_counter())


async def measure(kind: str, server, runtime, raw_io, seeded: dict[str, Any], subscribers: int, events: int) -> dict:
    """One side's block: S subscribers (half A's admins, half B's), then `events` + warm-up ingests for A."""
    from models.base import utcnow

    url = server.base_url.replace("http://", "ws://") + ("/ws" if kind == "plain" else "/graphql")
    a_count = max(1, subscribers // 2) if subscribers > 1 else 1
    group_a = [Subscriber(url, token) for token in seeded["tokens"]["a"][:a_count]]
    group_b = [Subscriber(url, token) for token in seeded["tokens"]["b"][: subscribers - a_count]]
    everyone = group_a + group_b
    opening = asyncio.Semaphore(100)  # a few at a time: thousands at once overflow the listen backlog
    for subscriber in everyone:
        subscriber.task = asyncio.create_task(subscriber.run(opening))
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in everyone)), 300)
    await asyncio.sleep(1.0 + subscribers / 500)  # the server registers the subscriptions after the subscribe message
    samples: list[float] = []
    total = events + 1 + (events + 1) % 2  # raise, clear, …: the alarm is cleared again at the end of the block
    try:
        for number in range(total):
            value = 90.0 if number % 2 == 0 else 70.0
            started = time.perf_counter()
            if kind == "plain":
                await ingest_raw(*raw_io, seeded["sites"]["a"], utcnow(), value)
            else:
                await ingest_fleetgraph(runtime, seeded["sites"]["a"], utcnow(), value)
            deadline = time.monotonic() + 60
            while not all(len(s.arrivals) > number for s in group_a):
                if time.monotonic() > deadline:
                    raise SystemExit(f"not every subscriber of A got event {number} within 60 s ({kind})")
                for subscriber in everyone:
                    if subscriber.task.done():
                        subscriber.task.result()
                await asyncio.sleep(0.0005)
            if number:  # the first one warms up (on fleetgraph it also loads the subscribers' grants)
                samples.append(max(s.arrivals[number] for s in group_a) - started)
        await asyncio.sleep(0.5)  # time for a wrongly routed event to show up at B
        leaked = sum(len(s.arrivals) for s in group_b)
        if leaked:
            raise SystemExit(f"B's subscribers received {leaked} events of A ({kind})")
    finally:
        for subscriber in everyone:
            subscriber.task.cancel()
        await asyncio.gather(*(s.task for s in everyone), return_exceptions=True)
    return {"samples": samples, "subscribers_a": a_count}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import create_async_engine

    from graph.app import collect_garbage_less_often
    from graph.runtime import Runtime
    from graph.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="bench-alarms-", dir="/tmp"))
    master_key = secrets.token_hex(32)
    counts = sorted(set(args.subscribers))
    settings = Settings(
        data_dir=data_dir,
        master_key=master_key,
        log_level="WARNING",
        broadcast_url=args.redis,
        router_watchdog_seconds=0,
        alarm_timer_seconds=0,
    )
    runtime = Runtime(settings)  # this process's ingest: it writes and publishes as an ingest worker would
    await runtime.start(auto_migrate=True)
    seeded = await seed(runtime, max(1, max(counts) // 2 + 1))
    collect_garbage_less_often()  # the client holds thousands of websockets too
    env = common.server_env(data_dir, "", master_key) | {
        "FLEETGRAPH_ROUTER_WATCHDOG_SECONDS": "0",
        "FLEETGRAPH_ALARM_TIMER_SECONDS": "0",
        "FLEETGRAPH_BROADCAST_URL": args.redis,
        "FLEETGRAPH_SUBSCRIPTIONS_PER_USER": "100000",
    }
    sides = {kind: common.Server(__file__, kind, env) for kind in ("graphql", "plain")}
    client = httpx.AsyncClient(timeout=60)
    raw_io = (create_async_engine(settings.effective_database_url), Redis.from_url(args.redis))
    results = []
    try:
        for server in sides.values():
            await server.wait_ready(client, "/health")
        for count in counts:
            samples: dict[str, list[float]] = {"graphql": [], "plain": []}
            for _ in range(ROUNDS):  # interleaved: fleetgraph, raw, fleetgraph, raw
                for kind, server in sides.items():
                    measured = await measure(kind, server, runtime, raw_io, seeded, count, args.events)
                    samples[kind] += measured["samples"]
            fleetgraph, raw = summarise(samples["graphql"]), summarise(samples["plain"])
            result = {
                "subscribers": count,
                "subscribers_a": measured["subscribers_a"],
                "events_per_side": len(samples["plain"]),
                "fleetgraph_all_a": fleetgraph,
                "raw_all_a": raw,
                "ratio_median": round(fleetgraph["median_ms"] / raw["median_ms"], 2),
                "ratio_p99": round(fleetgraph["p99_ms"] / raw["p99_ms"], 2),
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
        for server in sides.values():
            server.stop()
        await raw_io[0].dispose()
        await raw_io[1].aclose()
        await runtime.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "benchmark": "alarms",
        "machine": common.machine(),
        "bus": "redis",
        "events_per_count": args.events,
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="the event bus between the processes")
    parser.add_argument("--output", help="default: bench/results/alarms.json")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        common.serve(args.serve, args.port, create_plain_app=create_plain_app)
        return
    common.write_report(asyncio.run(run(args)), args.output or str(common.ROOT / "bench" / "results" / "alarms.json"))


if __name__ == "__main__":
    main()
