"""Reading telemetry: the latest values of a location's series, and a series' history as arrays, aggregated per
bucket in one SQL statement, raw with a truncation flag, navigated by period cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from graph.relay import to_global_id
from graph.workers import transaction
from models import remote as r
from models.base import utcnow
from resolvers.monitoring.telemetry.points import PointIn
from resolvers.monitoring.telemetry.rules import store_points
from tests.factories import add_location, add_location_device

LATEST = """query($id: ID!) { telemetryLatest(locationId: $id, first: 10) {
  totalCount nodes { id key unit dataType lastAt lastValue device { name } } } }"""
HISTORY = """query($id: ID!, $key: String!, $device: ID, $from: DateTime, $to: DateTime, $period: String,
  $aggregation: TelemetryAggregation!, $bucketSeconds: Int, $buckets: Int) {
  telemetryHistory(locationId: $id, key: $key, deviceId: $device, from: $from, to: $to, period: $period,
    aggregation: $aggregation, bucketSeconds: $bucketSeconds, buckets: $buckets) {
    from to aggregation bucketSeconds timestamps values truncated previous next } }"""

#: A whole hour (buckets start at multiples of their width since 1970).
T0 = (utcnow() - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)


async def seed(runtime, world, count: int = 120) -> dict[str, int]:
    """A location with a device; `count` minutes of temperature (value = minute) on the device, two of pressure."""
    async with runtime.session_factory() as session, session.begin():
        plant = await add_location(session, world.organisations["a"].id, "Plant")
        pump = await add_location_device(session, plant.id, "Pump", "10.0.0.2")
        ids = {"plant": plant.id, "pump": pump.id}
    device = to_global_id("LocationDevice", ids["pump"])
    points = [PointIn("temperature", float(i), T0 + timedelta(minutes=i), device) for i in range(count)]
    points += [PointIn("pressure", 2.0, T0), PointIn("pressure", 2.5, T0 + timedelta(minutes=1))]
    async with transaction(runtime) as session:
        location = await session.get(r.Location, ids["plant"])
        await store_points(session, None, location, points, late=timedelta(days=2))
    return ids


def variables(ids, **extra) -> dict:
    return {
        "id": to_global_id("Location", ids["plant"]),
        "key": "temperature",
        "device": to_global_id("LocationDevice", ids["pump"]),
        "aggregation": "NONE",
        **extra,
    }


async def test_latest_values_of_a_location(runtime, world, gql, count_sql):
    ids = await seed(runtime, world)
    with count_sql() as counter:
        result = await gql(LATEST, {"id": to_global_id("Location", ids["plant"])}, world.tokens["admin_a"])
    connection = result["data"]["telemetryLatest"]
    assert connection["totalCount"] == 2
    pressure, temperature = connection["nodes"]
    assert (pressure["key"], pressure["lastValue"], pressure["device"]) == ("pressure", 2.5, None)
    assert temperature["lastValue"] == 119.0 and temperature["device"] == {"name": "Pump"}
    assert datetime.fromisoformat(temperature["lastAt"]) == T0 + timedelta(minutes=119)
    assert temperature["dataType"] == "FLOAT"
    assert counter.count <= 4, counter.statements  # auth, page, count, devices
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on TelemetrySeries { key } } }",
        {"id": temperature["id"]},
        world.tokens["admin_a"],
    )
    assert node["data"]["node"] == {"key": "temperature"}
    for token in ("admin_b", "user_a"):  # another tenant, a user without the location: like an unknown one
        result = await gql(LATEST, {"id": to_global_id("Location", ids["plant"])}, world.tokens[token])
        assert result["data"]["telemetryLatest"]["nodes"] == []
        node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": temperature["id"]}, world.tokens[token])
        assert node["data"]["node"] is None


async def test_history_aggregates_per_bucket_in_one_statement(runtime, world, gql, count_sql):
    ids = await seed(runtime, world)
    period = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=2)).isoformat()}
    expected = {
        "MIN": [0.0, 30.0, 60.0, 90.0],
        "MAX": [29.0, 59.0, 89.0, 119.0],
        "AVG": [14.5, 44.5, 74.5, 104.5],
        "SUM": [float(sum(range(n, n + 30))) for n in (0, 30, 60, 90)],
        "COUNT": [30.0] * 4,
    }
    for aggregation, values in expected.items():
        with count_sql() as counter:
            result = await gql(
                HISTORY, variables(ids, aggregation=aggregation, bucketSeconds=1800, **period), world.tokens["admin_a"]
            )
        history = result["data"]["telemetryHistory"]
        assert history["values"] == values, aggregation
        assert [datetime.fromisoformat(t) for t in history["timestamps"]] == [
            T0 + timedelta(minutes=30 * n) for n in range(4)
        ]
        assert history["bucketSeconds"] == 1800
        history_statements = [s for s in counter.statements if "telemetry_point" in s]
        assert len(history_statements) == 1 and counter.count == 2, counter.statements  # auth + history
    # `buckets` picks the width: two hours in 8 buckets of 15 minutes
    result = await gql(HISTORY, variables(ids, aggregation="COUNT", buckets=8, **period), world.tokens["admin_a"])
    assert result["data"]["telemetryHistory"]["values"] == [15.0] * 8


async def test_raw_history_navigation_and_truncation(runtime, world, gql):
    ids = await seed(runtime, world)
    hour = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()}
    history = (await gql(HISTORY, variables(ids, **hour), world.tokens["admin_a"]))["data"]["telemetryHistory"]
    assert history["values"] == [float(i) for i in range(60)] and history["truncated"] is False
    following = await gql(HISTORY, variables(ids, period=history["next"]), world.tokens["admin_a"])
    following = following["data"]["telemetryHistory"]
    assert following["values"] == [float(i) for i in range(60, 120)]
    assert datetime.fromisoformat(following["from"]) == T0 + timedelta(hours=1)
    back = await gql(HISTORY, variables(ids, period=following["previous"]), world.tokens["admin_a"])
    assert back["data"]["telemetryHistory"]["values"] == history["values"]
    # the location's own series (no device), and an unknown key: empty
    own = await gql(HISTORY, variables(ids, key="pressure", device=None, **hour), world.tokens["admin_a"])
    assert own["data"]["telemetryHistory"]["values"] == [2.0, 2.5]
    unknown = await gql(HISTORY, variables(ids, key="nothing", **hour), world.tokens["admin_a"])
    assert unknown["data"]["telemetryHistory"]["values"] == []
    for token in ("admin_b", "user_a"):
        other = await gql(HISTORY, variables(ids, **hour), world.tokens[token])
        assert other["data"]["telemetryHistory"]["timestamps"] == []


async def test_raw_history_is_capped(runtime, world, gql):
    ids = await seed(runtime, world, count=0)
    device = to_global_id("LocationDevice", ids["pump"])
    points = [PointIn("temperature", float(i), T0 + timedelta(seconds=i), device) for i in range(10_001)]
    async with transaction(runtime) as session:
        location = await session.get(r.Location, ids["plant"])
        await store_points(session, None, location, points[:10_000], late=timedelta(days=2))
        await store_points(session, None, location, points[10_000:], late=timedelta(days=2))
    period = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=3)).isoformat()}
    history = (await gql(HISTORY, variables(ids, **period), world.tokens["admin_a"]))["data"]["telemetryHistory"]
    assert history["truncated"] is True and len(history["values"]) == 10_000


async def test_bad_history_arguments_are_typed_errors(runtime, world, gql):
    ids = await seed(runtime, world, count=1)
    start, end = T0.isoformat(), (T0 + timedelta(hours=1)).isoformat()
    cases = [
        ({"from": end, "to": start}, "from"),
        ({}, "from"),
        ({"period": "nonsense"}, "period"),
        ({"from": start, "to": end, "aggregation": "AVG"}, "bucketSeconds"),
        ({"from": start, "to": end, "aggregation": "AVG", "bucketSeconds": 60, "buckets": 2}, "bucketSeconds"),
        ({"from": start, "to": end, "aggregation": "AVG", "bucketSeconds": 0}, "bucketSeconds"),
        ({"from": start, "to": end, "aggregation": "AVG", "buckets": 10_001}, "buckets"),
    ]
    for extra, field in cases:
        result = await gql(HISTORY, variables(ids, **extra), world.tokens["admin_a"])
        error = result["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["argument"] == field, extra


def test_hours_are_whole():
    assert T0.tzinfo is UTC and T0.minute == 0
