"""Telemetry (issue 16): ingest points/s and history aggregation, next to raw SQLAlchemy Core in the same run.

Seeds a scratch SQLite file (or the database given with --database-url, whose public schema is DROPPED first:
give a scratch database) with an organisation admin, a location with a device, a device token. Then:

Ingest, 10,000-point batches (10 keys x 1,000 seconds, new times every batch), in interleaved rounds (the order
rotating every round); each request body (or the rows) is built before its timing starts:

    mutation   POST /graphql telemetryIngest through the app in process (httpx.ASGITransport): auth, parsing
               10,000 input objects, validation, store_points, commit
    mutation_series  the same batch as 10 series (input.series: a key, timestamps[], values[]): the bulk form
    http_json  POST /telemetry, JSON {"points": [...]}, with the location's device token
    http_lp    POST /telemetry, InfluxDB line protocol
    rule       store_points() in a transaction (no HTTP, no GraphQL)
    raw_core   the floor: the same rows written by hand with SQLAlchemy Core in one transaction (PostgreSQL: one
               INSERT ... SELECT FROM unnest ... ON CONFLICT DO UPDATE; SQLite: executemany INSERT ... ON CONFLICT),
               no validation, no series lookup, no latest values
    mqtt       (with a broker at 127.0.0.1:1883) 3 messages of 10,000 points published back to back (QoS 1) to a
               TelemetrySubscriber; timed from the first publish until all three are stored

History: one series of 1,000,000 points (one per second, about 11.6 days), AVG in 1,000 buckets:

    graphql    telemetryHistory(aggregation: AVG, buckets: 1000) through the app in process; SQL statements counted
    rule       resolvers.monitoring.telemetry.history.history() on a session
    raw_core   the same GROUP BY floor(epoch / width) written by hand with Core

    .venv/bin/python bench/telemetry.py                 # scratch SQLite
    .venv/bin/python bench/telemetry.py --quick         # fewer rounds, 200,000 history points
    .venv/bin/python bench/telemetry.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/fg_telemetry

Results go to bench/results/telemetry_<database>.json; bench/README.md explains them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import secrets
import socket
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import common

BATCH = 10_000
KEYS = 10
INGEST_SIDES = ("mutation", "mutation_series", "http_json", "http_lp", "rule", "raw_core")
HISTORY_SIDES = ("graphql", "rule", "raw_core")
MQTT_MESSAGES = 3
INGEST = """mutation($input: TelemetryIngestInput!) { telemetryIngest(input: $input) { stored errors { code } } }"""
HISTORY = """query($id: ID!, $from: DateTime!, $to: DateTime!) { telemetryHistory(locationId: $id, key: "history",
  from: $from, to: $to, aggregation: AVG, buckets: 1000) { count timestamps values } }"""


class Clock:
    """Hands out the start of each batch's 1,000 seconds, from six days ago onwards (inside the late window)."""

    def __init__(self) -> None:
        self.next = datetime.now(UTC).replace(microsecond=0) - timedelta(days=6)

    def take(self) -> datetime:
        start, self.next = self.next, self.next + timedelta(seconds=BATCH // KEYS)
        return start


def batch(start: datetime) -> list[tuple[str, datetime, float]]:
    return [(f"k{i % KEYS}", start + timedelta(seconds=i // KEYS), float(i)) for i in range(BATCH)]


async def setup(database_url: str, data_dir: Path) -> tuple[Any, dict[str, Any]]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from graph.auth import hash_token
    from graph.runtime import Runtime
    from graph.settings import Settings
    from models import identity as m
    from models import telemetry as tel
    from tests.factories import add_location, add_location_device, add_organisation, add_user, issue_token

    if database_url.startswith("postgresql"):
        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        master_key=secrets.token_hex(32),
        router_watchdog_seconds=0,
        telemetry_purge_seconds=0,
        log_level="WARNING",
    )
    runtime = Runtime(settings)
    await runtime.start(auto_migrate=True)
    device_token = "fgt_" + secrets.token_urlsafe(32)
    async with runtime.session_factory() as session, session.begin():
        organisation = await add_organisation(session, "Bench")
        admin = await add_user(session, organisation, "admin@bench.example", [m.Role.ORGANISATION_ADMIN])
        location = await add_location(session, organisation.id, "Plant")
        device = await add_location_device(session, location.id, "PLC", "10.0.0.2")
        session.add(
            tel.TelemetryToken(
                organisation_id=organisation.id,
                location_id=location.id,
                name="bench",
                token_hash=hash_token(device_token),
            )
        )
        seeded = {
            "token": await issue_token(session, admin, ttl=86_400),
            "device_token": device_token,
            "location": location.id,
            "device": device.id,
            "organisation": organisation.id,
        }
    return runtime, seeded


# --- ingest sides ---------------------------------------------------------------------------------------


def prepare_mutation(ctx, points) -> bytes:
    import orjson

    from graph.relay import to_global_id

    payload = {
        "locationId": to_global_id("Location", ctx.seeded["location"]),
        "points": [{"key": key, "at": at.isoformat(), "value": value} for key, at, value in points],
    }
    return orjson.dumps({"query": INGEST, "variables": {"input": payload}})


def prepare_mutation_series(ctx, points) -> bytes:
    import orjson

    from graph.relay import to_global_id

    by_key: dict[str, tuple[list[str], list[float]]] = {}
    for key, at, value in points:
        timestamps, values = by_key.setdefault(key, ([], []))
        timestamps.append(at.isoformat())
        values.append(value)
    payload = {
        "locationId": to_global_id("Location", ctx.seeded["location"]),
        "series": [{"key": key, "timestamps": t, "values": v} for key, (t, v) in by_key.items()],
    }
    return orjson.dumps({"query": INGEST, "variables": {"input": payload}})


async def ingest_mutation(ctx, body: bytes) -> int:
    response = await ctx.client.post("/graphql", content=body, headers=common.graphql_headers(ctx.token))
    data = response.json()["data"]["telemetryIngest"]
    assert data["errors"] == [], data
    return data["stored"]


def prepare_http_json(ctx, points) -> bytes:
    import orjson

    return orjson.dumps({"points": [{"key": key, "at": at.isoformat(), "value": value} for key, at, value in points]})


async def ingest_http_json(ctx, body: bytes) -> int:
    response = await ctx.client.post(
        "/telemetry",
        content=body,
        headers={"authorization": f"Bearer {ctx.seeded['device_token']}", "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    return response.json()["stored"]


def prepare_http_lp(ctx, points) -> bytes:
    return "\n".join(f"plant {key}={value} {int(at.timestamp())}" for key, at, value in points).encode()


async def ingest_http_lp(ctx, body: bytes) -> int:
    response = await ctx.client.post(
        "/telemetry?precision=s",
        content=body,
        headers={"authorization": f"Bearer {ctx.seeded['device_token']}", "content-type": "text/plain"},
    )
    assert response.status_code == 200, response.text
    return response.json()["stored"]


def prepare_rule(ctx, points) -> list[Any]:
    from resolvers.monitoring.telemetry.points import PointIn

    return [PointIn(k, v, at) for k, at, v in points]


async def ingest_rule(ctx, points) -> int:
    from graph.workers import transaction
    from models import remote as r
    from resolvers.monitoring.telemetry.rules import store_points

    async with transaction(ctx.runtime) as session:
        location = await session.get(r.Location, ctx.seeded["location"])
        stored = await store_points(session, None, location, points)
    return len(stored)


async def raw_series(ctx) -> dict[str, int]:
    """The raw side's own series (made once, outside the timing)."""
    from sqlalchemy import insert, select

    from models import telemetry as tel

    if ctx.raw_series:
        return ctx.raw_series
    async with ctx.runtime.engine.begin() as connection:
        await connection.execute(
            insert(tel.TelemetrySeries),
            [
                {
                    "organisation_id": ctx.seeded["organisation"],
                    "location_id": ctx.seeded["location"],
                    "device_id": ctx.seeded["device"],
                    "key": f"k{i}",
                    "unit": "",
                    "data_type": tel.DataType.FLOAT,
                    "created_at": datetime.now(UTC),
                }
                for i in range(KEYS)
            ],
        )
        rows = await connection.execute(
            select(tel.TelemetrySeries.key, tel.TelemetrySeries.id).where(
                tel.TelemetrySeries.device_id == ctx.seeded["device"]
            )
        )
        ctx.raw_series = dict(rows.all())
    return ctx.raw_series


async def raw_insert(connection, rows: list[tuple[int, datetime, float]]) -> None:
    from sqlalchemy import text
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from models import telemetry as tel

    if connection.dialect.name == "postgresql":
        await connection.execute(
            text(
                "INSERT INTO telemetry_point (series_id, at, value) SELECT * FROM unnest(CAST(:s AS BIGINT[]), "
                "CAST(:a AS TIMESTAMPTZ[]), CAST(:v AS FLOAT8[])) ON CONFLICT (series_id, at) DO UPDATE "
                "SET value = excluded.value"
            ),
            {"s": [row[0] for row in rows], "a": [row[1] for row in rows], "v": [row[2] for row in rows]},
        )
        return
    statement = sqlite_insert(tel.TelemetryPoint)
    statement = statement.on_conflict_do_update(
        index_elements=["series_id", "at"], set_={"value": statement.excluded.value}
    )
    await connection.execute(statement, [{"series_id": s, "at": a, "value": v} for s, a, v in rows])


def prepare_raw_core(ctx, points) -> list[tuple[int, datetime, float]]:
    return [(ctx.raw_series[key], at, value) for key, at, value in points]


async def ingest_raw_core(ctx, rows) -> int:
    async with ctx.runtime.engine.begin() as connection:
        await raw_insert(connection, rows)
    return len(rows)


#: (prepare the request or the rows, outside the timing; send it, timed)
INGESTERS = {
    "mutation": (prepare_mutation, ingest_mutation),
    "mutation_series": (prepare_mutation_series, ingest_mutation),
    "http_json": (prepare_http_json, ingest_http_json),
    "http_lp": (prepare_http_lp, ingest_http_lp),
    "rule": (prepare_rule, ingest_rule),
    "raw_core": (prepare_raw_core, ingest_raw_core),
}


async def ensure_days(ctx, start: datetime, end: datetime) -> None:
    """PostgreSQL: the day partitions the timed batches write to exist beforehand (as the purge worker makes
    them ahead), so no side pays for a CREATE TABLE inside its timing."""
    from graph.workers import transaction
    from resolvers.monitoring.telemetry.partitions import ensure_partitions

    if ctx.runtime.engine.dialect.name != "postgresql":
        return
    moments = {start + timedelta(days=n) for n in range((end - start).days + 2)}
    async with transaction(ctx.runtime) as session:
        await ensure_partitions(session, moments)


async def run_ingest(ctx, rounds: int, warmup: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {side: [] for side in INGEST_SIDES}
    await raw_series(ctx)
    await ensure_days(
        ctx, ctx.clock.next, ctx.clock.next + timedelta(seconds=1000 * (rounds + warmup) * (len(INGEST_SIDES) + 1))
    )
    for round_number in range(warmup + rounds):
        shift = round_number % len(INGEST_SIDES)
        for side in INGEST_SIDES[shift:] + INGEST_SIDES[:shift]:
            prepare, send = INGESTERS[side]
            prepared = prepare(ctx, batch(ctx.clock.take()))
            # the previous side's garbage is collected here, not in this side's timing (the allocation pattern
            # repeats every round, so one side kept paying for the mutation's 10,000 input objects)
            gc.collect()
            started = time.perf_counter()
            stored = await send(ctx, prepared)
            elapsed = time.perf_counter() - started
            assert stored == BATCH, (side, stored)
            if round_number >= warmup:
                samples[side].append(elapsed)
    floor = statistics.median(samples["raw_core"])
    return {
        side: {
            "median_ms": round(statistics.median(times) * 1000, 1),
            "points_per_second": round(BATCH / statistics.median(times)),
            "ratio_to_raw": round(statistics.median(times) / floor, 2),
            "rounds": len(times),
        }
        for side, times in samples.items()
    }


def broker_reachable() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 1883), timeout=1):
        return True
    return False


async def run_mqtt(ctx, rounds: int) -> dict[str, Any] | None:
    import aiomqtt
    import orjson

    from graph.relay import to_global_id
    from resolvers.monitoring.workers.telemetry_mqtt import TelemetrySubscriber

    if not broker_reachable():
        return None
    root = f"fgbench-{uuid.uuid4().hex[:8]}"
    member = TelemetrySubscriber(ctx.runtime, "mqtt://127.0.0.1:1883", root=root, group=root)
    member.start()
    topic = f"{root}/locations/{to_global_id('Location', ctx.seeded['location'])}/telemetry"
    rates = []
    try:
        while member.state != "connected":
            await asyncio.sleep(0.05)
        async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"bench-{uuid.uuid4().hex[:8]}") as client:
            for _ in range(rounds):
                payloads = [
                    orjson.dumps(
                        {
                            "points": [
                                {"key": k, "at": at.isoformat(), "value": v} for k, at, v in batch(ctx.clock.take())
                            ]
                        }
                    )
                    for _ in range(MQTT_MESSAGES)
                ]
                before = member.recorded
                started = time.perf_counter()
                for payload in payloads:
                    await client.publish(topic, payload, qos=1)
                deadline = time.monotonic() + 120
                while member.recorded < before + MQTT_MESSAGES:
                    assert member.dropped == 0 and time.monotonic() < deadline
                    await asyncio.sleep(0.005)
                rates.append(MQTT_MESSAGES * BATCH / (time.perf_counter() - started))
    finally:
        await member.stop()
    return {"points_per_second": round(statistics.median(rates)), "rounds": len(rates), "messages": MQTT_MESSAGES}


# --- history ---------------------------------------------------------------------------------------------


async def seed_history(ctx, count: int) -> tuple[datetime, datetime]:
    """One series ("history", the location's own) with `count` points, one per second, written by hand."""
    from sqlalchemy import insert, select

    from models import telemetry as tel

    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(seconds=count)
    await ensure_days(ctx, start, end)
    async with ctx.runtime.engine.begin() as connection:
        await connection.execute(
            insert(tel.TelemetrySeries),
            [
                {
                    "organisation_id": ctx.seeded["organisation"],
                    "location_id": ctx.seeded["location"],
                    "key": "history",
                    "unit": "",
                    "data_type": tel.DataType.FLOAT,
                    "created_at": datetime.now(UTC),
                }
            ],
        )
        series = await connection.scalar(select(tel.TelemetrySeries.id).where(tel.TelemetrySeries.key == "history"))
    for offset in range(0, count, 50_000):
        rows = [
            (series, start + timedelta(seconds=i), float(i % 3600)) for i in range(offset, min(count, offset + 50_000))
        ]
        async with ctx.runtime.engine.begin() as connection:
            for part in range(0, len(rows), BATCH):
                await raw_insert(connection, rows[part : part + BATCH])
    if ctx.runtime.engine.dialect.name == "postgresql":
        async with ctx.runtime.engine.connect() as connection:
            await connection.exec_driver_sql("ANALYZE telemetry_point")
    ctx.history_series = series
    return start, end


async def history_graphql(ctx, start, end) -> list[float]:
    from graph.relay import to_global_id

    variables = {
        "id": to_global_id("Location", ctx.seeded["location"]),
        "from": start.isoformat(),
        "to": end.isoformat(),
    }
    response = await ctx.client.post(
        "/graphql", json={"query": HISTORY, "variables": variables}, headers=common.graphql_headers(ctx.token)
    )
    return response.json()["data"]["telemetryHistory"]["values"]


async def history_rule(ctx, start, end) -> list[float]:
    from models import remote as r
    from resolvers.monitoring.telemetry.history import Period, history, series_of

    width = -(-int((end - start).total_seconds()) // 1000)
    series = series_of(ctx.seeded["location"], None, "history", r.Location.id.is_not(None))
    async with ctx.runtime.session_factory() as session:
        _, values, _ = await history(session, series, Period(start, end), "AVG", width)
    return [float(v) for v in values if v is not None]


async def history_raw_core(ctx, start, end) -> list[float]:
    from sqlalchemy import func, select

    from models import telemetry as tel

    width = -(-int((end - start).total_seconds()) // 1000)
    point = tel.TelemetryPoint
    async with ctx.runtime.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            bucket = func.floor(func.date_part("epoch", point.at) / float(width)).label("bucket")
        else:
            bucket = (func.unixepoch(point.at) // width).label("bucket")
        rows = await connection.execute(
            select(bucket, func.avg(point.value))
            .where(point.series_id == ctx.history_series, point.at >= start, point.at < end)
            .group_by(bucket)
            .order_by(bucket)
        )
        return [float(row[1]) for row in rows]


HISTORIANS = {"graphql": history_graphql, "rule": history_rule, "raw_core": history_raw_core}


async def run_history(ctx, count: int, rounds: int) -> dict[str, Any]:
    from sqlalchemy import event

    started = time.perf_counter()
    start, end = await seed_history(ctx, count)
    seeding = time.perf_counter() - started
    expected = await history_raw_core(ctx, start, end)
    for side, read in HISTORIANS.items():  # every side answers the same buckets before anything is timed
        got = await read(ctx, start, end)
        assert len(got) == len(expected) and all(abs(a - b) < 1e-6 for a, b in zip(got, expected, strict=True)), side
    seen: list[tuple[int, str]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append((id(conn.connection), statement))

    event.listen(ctx.runtime.engine.sync_engine, "before_cursor_execute", listener)
    await history_graphql(ctx, start, end)
    event.remove(ctx.runtime.engine.sync_engine, "before_cursor_execute", listener)
    # the request reads on one connection; the server's timers (event stream, workers) use others meanwhile
    request_connection = next(conn for conn, statement in seen if "telemetry_point" in statement)
    statements = [statement for conn, statement in seen if conn == request_connection]
    reading = [s for s in statements if "telemetry_point" in s]
    samples: dict[str, list[float]] = {side: [] for side in HISTORY_SIDES}
    for round_number in range(rounds):
        shift = round_number % len(HISTORY_SIDES)
        for side in HISTORY_SIDES[shift:] + HISTORY_SIDES[:shift]:
            began = time.perf_counter()
            await HISTORIANS[side](ctx, start, end)
            samples[side].append(time.perf_counter() - began)
    floor = statistics.median(samples["raw_core"])
    return {
        "points": count,
        "buckets": len(expected),
        "seeding_seconds": round(seeding, 1),
        "graphql_request_statements": len(statements),
        "graphql_history_statements": len(reading),
        "sides": {
            side: {
                "median_ms": round(statistics.median(times) * 1000, 1),
                "p95_ms": round(common.percentile(sorted(times), 95) * 1000, 1),
                "ratio_to_raw": round(statistics.median(times) / floor, 2),
                "rounds": len(times),
            }
            for side, times in samples.items()
        },
    }


class Bench:
    def __init__(self, runtime, seeded, client) -> None:
        self.runtime, self.seeded, self.client = runtime, seeded, client
        self.token = seeded["token"]
        self.clock = Clock()
        self.raw_series: dict[str, int] = {}
        self.history_series = 0


async def main(args) -> None:
    from graph.app import create_app
    from tests.environment import app_client

    with tempfile.TemporaryDirectory(prefix="fgbench-telemetry-") as scratch:
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}"
        runtime, seeded = await setup(database_url, Path(scratch))
        try:
            app = create_app(runtime.settings, runtime=runtime)
            async with app_client(app) as client:
                ctx = Bench(runtime, seeded, client)
                report: dict[str, Any] = {"machine": common.machine(), "database": runtime.engine.dialect.name}
                report["ingest"] = await run_ingest(ctx, rounds=args.rounds, warmup=1)
                print("ingest (10,000-point batches):")
                for side, result in report["ingest"].items():
                    print(f"  {side:10} {result['points_per_second']:>9,} points/s  x{result['ratio_to_raw']}")
                report["mqtt"] = await run_mqtt(ctx, rounds=max(2, args.rounds // 2))
                print(f"  mqtt       {report['mqtt']}")
                report["history"] = await run_history(ctx, args.history_points, rounds=args.rounds * 2)
                print("history:", {k: v for k, v in report["history"].items() if k != "sides"})
                for side, result in report["history"]["sides"].items():
                    print(f"  {side:10} {result['median_ms']:>8} ms  x{result['ratio_to_raw']}")
                report["load_average_at_end"] = common.load_average()
        finally:
            await runtime.stop()
    common.write_report(report, args.output or f"bench/results/telemetry_{report['database']}.json")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--history-points", type=int, default=0)
    parser.add_argument("--output", default="")
    arguments = parser.parse_args()
    arguments.rounds = arguments.rounds or (3 if arguments.quick else 8)
    arguments.history_points = arguments.history_points or (200_000 if arguments.quick else 1_000_000)
    asyncio.run(main(arguments))
