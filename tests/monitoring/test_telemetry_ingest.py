"""Telemetry ingest through the batch mutation and the shared rule: validation per point (all or nothing),
series created once (also by racing ingests), last write wins, latest values only move forward, the
POINTS_STORED hook, statement counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from graph.relay import to_global_id
from graph.workers import transaction
from models import remote as r
from models import telemetry as tel
from models.base import utcnow
from resolvers.monitoring.hooks import POINTS_STORED
from resolvers.monitoring.telemetry.points import PointIn
from resolvers.monitoring.telemetry.rules import store_points
from tests.factories import add_location, add_location_device

INGEST = """mutation($input: TelemetryIngestInput!) {
  telemetryIngest(input: $input) { stored errors { code field message } } }"""


async def seed(runtime, world) -> dict[str, int]:
    async with runtime.session_factory() as session, session.begin():
        plant = await add_location(session, world.organisations["a"].id, "Plant")
        other = await add_location(session, world.organisations["a"].id, "Other")
        pump = await add_location_device(session, plant.id, "Pump", "10.0.0.2")
        foreign = await add_location_device(session, other.id, "Fan", "10.0.0.3")
        return {"plant": plant.id, "other": other.id, "pump": pump.id, "foreign": foreign.id}


async def points_of(runtime) -> list[tuple[str, int | None, datetime, float]]:
    async with runtime.session_factory() as session:
        rows = await session.execute(
            select(
                tel.TelemetrySeries.key, tel.TelemetrySeries.device_id, tel.TelemetryPoint.at, tel.TelemetryPoint.value
            )
            .join(tel.TelemetrySeries, tel.TelemetrySeries.id == tel.TelemetryPoint.series_id)
            .order_by(tel.TelemetrySeries.key, tel.TelemetryPoint.at)
        )
        return [tuple(row) for row in rows]


def stamp(moment: datetime) -> str:
    return moment.isoformat()


async def test_ingest_stores_points_and_keeps_latest_values(runtime, world, gql):
    ids = await seed(runtime, world)
    now = utcnow().replace(microsecond=0)
    device = to_global_id("LocationDevice", ids["pump"])
    points = [
        {"key": "temperature", "value": 71.5, "at": stamp(now - timedelta(minutes=2)), "deviceId": device},
        {"key": "temperature", "value": 72.5, "at": stamp(now - timedelta(minutes=1)), "deviceId": device},
        {"key": "running", "value": True, "at": stamp(now)},
        {"key": "pressure", "value": 2, "at": stamp(now)},
    ]
    result = await gql(
        INGEST,
        {"input": {"locationId": to_global_id("Location", ids["plant"]), "points": points}},
        world.tokens["admin_a"],
    )
    assert result["data"]["telemetryIngest"] == {"stored": 4, "errors": []}
    stored = await points_of(runtime)
    assert [(key, value) for key, _, _, value in stored] == [
        ("pressure", 2.0),
        ("running", 1.0),
        ("temperature", 71.5),
        ("temperature", 72.5),
    ]
    async with runtime.session_factory() as session:
        series = {s.key: s for s in await session.scalars(select(tel.TelemetrySeries))}
    assert series["temperature"].device_id == ids["pump"]
    assert series["temperature"].last_value == 72.5 and series["temperature"].last_at == now - timedelta(minutes=1)
    assert series["running"].data_type == tel.DataType.BOOLEAN and series["running"].device_id is None

    # an older point later: stored, but the latest value stays; the same time again: overwritten, not doubled
    late = [
        {"key": "temperature", "value": 60.0, "at": stamp(now - timedelta(hours=1)), "deviceId": device},
        {"key": "temperature", "value": 73.0, "at": stamp(now - timedelta(minutes=1)), "deviceId": device},
        {"key": "temperature", "value": 74.0, "at": stamp(now - timedelta(minutes=1)), "deviceId": device},
    ]
    result = await gql(
        INGEST,
        {"input": {"locationId": to_global_id("Location", ids["plant"]), "points": late}},
        world.tokens["admin_a"],
    )
    assert result["data"]["telemetryIngest"] == {"stored": 2, "errors": []}
    temperatures = [(at, value) for key, _, at, value in await points_of(runtime) if key == "temperature"]
    assert temperatures == [
        (now - timedelta(hours=1), 60.0),
        (now - timedelta(minutes=2), 71.5),
        (now - timedelta(minutes=1), 74.0),
    ]
    async with runtime.session_factory() as session:
        latest = await session.scalar(select(tel.TelemetrySeries).where(tel.TelemetrySeries.key == "temperature"))
    assert (latest.last_at, latest.last_value) == (now - timedelta(minutes=1), 74.0)


async def test_one_bad_point_refuses_the_batch_with_every_problem(runtime, world, gql):
    ids = await seed(runtime, world)
    now = utcnow()
    points = [
        {"key": "ok", "value": 1},
        {"key": "", "value": 1},
        {"key": "x" * 101, "value": 1},
        {"key": "bad key!", "value": 1},
        {"key": "v", "value": "high"},
        {"key": "old", "value": 1, "at": stamp(now - timedelta(days=8))},
        {"key": "ahead", "value": 1, "at": stamp(now + timedelta(minutes=10))},
        {"key": "d", "value": 1, "deviceId": to_global_id("LocationDevice", ids["foreign"])},
        {"key": "n", "value": [1]},
    ]
    result = await gql(
        INGEST,
        {"input": {"locationId": to_global_id("Location", ids["plant"]), "points": points}},
        world.tokens["admin_a"],
    )
    payload = result["data"]["telemetryIngest"]
    assert payload["stored"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("REQUIRED", ["points", "1", "key"]),
        ("TOO_LONG", ["points", "2", "key"]),
        ("INVALID", ["points", "3", "key"]),
        ("INVALID", ["points", "4", "value"]),
        ("INVALID", ["points", "5", "at"]),
        ("INVALID", ["points", "6", "at"]),
        ("INVALID", ["points", "8", "value"]),
    ]
    assert payload["errors"][0]["message"].startswith("Point 1:")
    # the devices are checked once the points are otherwise well-formed
    points = [{"key": "d", "value": 1, "deviceId": to_global_id("LocationDevice", ids["foreign"])}]
    result = await gql(
        INGEST,
        {"input": {"locationId": to_global_id("Location", ids["plant"]), "points": points}},
        world.tokens["admin_a"],
    )
    assert [(e["code"], e["field"]) for e in result["data"]["telemetryIngest"]["errors"]] == [
        ("NOT_FOUND", ["points", "0", "deviceId"])
    ]
    assert await points_of(runtime) == []
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(tel.TelemetrySeries)) == 0


async def test_series_are_stored_like_points_after_them(runtime, world, gql):
    """The columnar form: one key's timestamps and values; mixed with single points in one call."""
    ids = await seed(runtime, world)
    now = utcnow().replace(microsecond=0)
    device = to_global_id("LocationDevice", ids["pump"])
    times = [now - timedelta(minutes=3 - i) for i in range(3)]
    result = await gql(
        INGEST,
        {
            "input": {
                "locationId": to_global_id("Location", ids["plant"]),
                "points": [{"key": "temperature", "value": 50.0, "at": stamp(times[0]), "deviceId": device}],
                "series": [
                    {
                        "key": "temperature",
                        "deviceId": device,
                        "timestamps": [stamp(t) for t in times],
                        "values": [70.0, 71, 72.5],
                    },
                    {"key": "running", "timestamps": [stamp(now)], "values": [True]},
                ],
            }
        },
        world.tokens["admin_a"],
    )
    # the series' first point has the single point's time: it comes later, so it wins
    assert result["data"]["telemetryIngest"] == {"stored": 4, "errors": []}
    assert [(key, device_id, at, value) for key, device_id, at, value in await points_of(runtime)] == [
        ("running", None, now, 1.0),
        ("temperature", ids["pump"], times[0], 70.0),
        ("temperature", ids["pump"], times[1], 71.0),
        ("temperature", ids["pump"], times[2], 72.5),
    ]


async def test_series_problems_name_their_place_in_the_series(runtime, world, gql):
    ids = await seed(runtime, world)
    now = utcnow()
    location = to_global_id("Location", ids["plant"])
    series = [
        {"key": "ok", "timestamps": [stamp(now)], "values": [1]},
        {
            "key": "flow",
            "timestamps": [stamp(now), stamp(now - timedelta(days=8)), stamp(now)],
            "values": [1, 2, "high"],
        },
        {
            "key": "bad key!",
            "timestamps": [stamp(now)],
            "values": [1],
            "deviceId": to_global_id("Organisation", ids["pump"]),
        },
    ]
    result = await gql(
        INGEST,
        {"input": {"locationId": location, "points": [{"key": "", "value": 1}], "series": series}},
        world.tokens["admin_a"],
    )
    payload = result["data"]["telemetryIngest"]
    assert payload["stored"] is None
    assert [(e["code"], e["field"], e["message"].split(":")[0]) for e in payload["errors"]] == [
        ("REQUIRED", ["points", "0", "key"], "Point 0"),
        ("INVALID", ["series", "1", "timestamps", "1"], "Series 1, point 1"),
        ("INVALID", ["series", "1", "values", "2"], "Series 1, point 2"),
        ("INVALID", ["series", "2", "key"], "Series 2, point 0"),
        ("NOT_FOUND", ["series", "2", "deviceId"], "Series 2, point 0"),
    ]
    # arrays of different lengths: refused before anything else is looked at
    mismatched = [
        {"key": "a", "timestamps": [stamp(now)], "values": [1]},
        {"key": "b", "timestamps": [], "values": [2]},
    ]
    result = await gql(INGEST, {"input": {"locationId": location, "series": mismatched}}, world.tokens["admin_a"])
    assert result["data"]["telemetryIngest"]["errors"] == [
        {"code": "INVALID", "field": ["series", "1", "values"], "message": "Series 1: as many values as timestamps."}
    ]
    # the limit counts the series' points with the single ones
    too_many = [{"key": "a", "timestamps": [stamp(now)] * 10_000, "values": [1] * 10_000}]
    result = await gql(
        INGEST,
        {"input": {"locationId": location, "points": [{"key": "b", "value": 1}], "series": too_many}},
        world.tokens["admin_a"],
    )
    assert [e["code"] for e in result["data"]["telemetryIngest"]["errors"]] == ["TOO_MANY"]
    assert await points_of(runtime) == []


async def test_too_many_points_and_unreachable_locations(runtime, world, gql):
    ids = await seed(runtime, world)
    location = to_global_id("Location", ids["plant"])
    too_many = [{"key": "k", "value": 1}] * 10_001
    result = await gql(INGEST, {"input": {"locationId": location, "points": too_many}}, world.tokens["admin_a"])
    assert [e["code"] for e in result["data"]["telemetryIngest"]["errors"]] == ["TOO_MANY"]
    one = [{"key": "k", "value": 1}]
    for token in ("admin_b", "user_a"):  # another tenant; a user without the location (and the permission)
        result = await gql(INGEST, {"input": {"locationId": location, "points": one}}, world.tokens[token])
        payload = (result.get("data") or {}).get("telemetryIngest")
        assert payload is None or [e["code"] for e in payload["errors"]] == ["NOT_FOUND"], result
    assert await points_of(runtime) == []


#: Statements of the POINTS_STORED handlers when nothing applies: alarm profiles 1, forwarding targets 1.
HANDLER_LOOKUPS = 2


async def test_a_full_batch_is_a_few_statements_and_the_hook_sees_each_stored_point(runtime, world, count_sql):
    ids = await seed(runtime, world)
    seen: list = []

    async def handler(session, points) -> None:
        seen.extend(points)

    POINTS_STORED.register(handler)
    try:
        start = utcnow() - timedelta(hours=2)
        points = [
            PointIn(
                f"k{i % 10}", float(i), start + timedelta(seconds=i // 10), to_global_id("LocationDevice", ids["pump"])
            )
            for i in range(10_000)
        ]
        with count_sql() as counter:
            async with transaction(runtime) as session:
                location = await session.get(r.Location, ids["plant"])
                stored = await store_points(session, None, location, points)
        assert len(stored) == 10_000 and len(seen) == 10_000
        assert sum(point.advances for point in seen) == 10  # the newest point of each of the 10 new series
        assert seen[0].organisation_id == world.organisations["a"].id and seen[0].device_id == ids["pump"]
        sqlite = runtime.settings.is_sqlite
        # location, devices, series (find, datalog variables, create, find new), points, latest values (+ the
        # series' latest before the batch on SQLite, + partitions on PostgreSQL), then the registered handlers
        # look up what applies: alarm profiles 1, forwarding targets 1
        writes = [s for s in counter.statements if "telemetry_point" in s and s.lstrip().upper().startswith("INSERT")]
        assert len(writes) == 1
        assert counter.count <= 9 + HANDLER_LOOKUPS, "\n".join(s[:90] for s in counter.statements)
        # again: the series exist now
        seen.clear()
        with count_sql() as counter:
            async with transaction(runtime) as session:
                location = await session.get(r.Location, ids["plant"])
                await store_points(session, None, location, points)
        # location, devices, series, points, latest values (read, then moved, on SQLite), and forwarding's lookup:
        # the same points again advance no series, so alarms have nothing to evaluate
        assert all(not point.advances for point in seen)
        assert counter.count == (6 if sqlite else 5) + 1, "\n".join(s[:90] for s in counter.statements)
    finally:
        POINTS_STORED._handlers.remove(handler)
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(tel.TelemetryPoint)) == 10_000


async def test_racing_ingests_create_a_series_once(runtime, world):
    ids = await seed(runtime, world)

    async def ingest(value: float) -> None:
        async with transaction(runtime) as session:
            location = await session.get(r.Location, ids["plant"])
            await store_points(session, None, location, [PointIn("level", value, utcnow())])

    await asyncio.gather(*(ingest(float(i)) for i in range(4)))
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(tel.TelemetrySeries)) == 1
        assert await session.scalar(select(func.count()).select_from(tel.TelemetryPoint)) >= 1


def test_time_helpers_are_utc():
    assert stamp(datetime(2026, 1, 1, tzinfo=UTC)).endswith("+00:00")
