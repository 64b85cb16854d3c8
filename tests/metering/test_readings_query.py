"""Reading the readings: meteringPointReadings newest first (raw, or the last reading of each day or month in the
point's time zone, across a time-zone day boundary and a DST change), latest_readings for many meters in one
statement, and visibility (a consumer reads only their own points' readings, staff their subtree's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from graph.relay import to_global_id
from models import metering as mt
from resolvers.metering.readings.ingest import ReadingIn, store_readings
from resolvers.metering.readings.latest import latest_readings
from resolvers.monitoring.telemetry.points import PointIn
from tests.metering.readings_helpers import seed_meters

READINGS = """query($id: ID!, $aggregation: ReadingAggregation, $first: Int, $from: DateTime, $to: DateTime) {
  meteringPointReadings(meteringPointId: $id, aggregation: $aggregation, first: $first, from: $from, to: $to) {
    key unit timeZone aggregation count at values } }"""


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def store(runtime, serial: str, readings: list[tuple[str, float]]) -> None:
    """Readings of one meter through the rule, with a clock just after the last one."""
    times = [utc(at) for at, _ in readings]
    async with runtime.session_factory() as session, session.begin():
        await store_readings(
            session,
            [ReadingIn(serial, PointIn("volume", value, at)) for at, (_, value) in zip(times, readings, strict=True)],
            organisation_id=None,
            now=max(times) + timedelta(minutes=1),
            late=timedelta(days=400),
        )


async def set_zone(runtime, point: int, zone: str) -> None:
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(mt.MeteringPoint).where(mt.MeteringPoint.id == point).values(time_zone=zone))


async def history(gql, token: str, point: int, **variables) -> dict | None:
    result = await gql(READINGS, {"id": to_global_id("MeteringPoint", point), **variables}, token)
    assert "errors" not in result, result
    return result["data"]["meteringPointReadings"]


def pairs(found: dict) -> list[tuple[str, float]]:
    return [(at[:16], value) for at, value in zip(found["at"], found["values"], strict=True)]


async def test_days_and_months_are_cut_in_the_points_time_zone(runtime, world, gql):
    seeded = await seed_meters(runtime, world)  # Anna's point is in Europe/Moscow (UTC+3 all year)
    await store(
        runtime,
        "33100050",
        [
            ("2026-11-30 20:30", 10.0),  # 23:30 on 30 November in Moscow
            ("2026-11-30 21:30", 10.5),  # 00:30 on 1 December in Moscow: another day and month
            ("2026-12-01 20:30", 11.0),  # 23:30 on 1 December
            ("2026-12-01 21:30", 11.5),  # 00:30 on 2 December (in UTC still the 1st)
            ("2026-12-01 22:00", 11.75),
        ],
    )
    token, point = seeded.tokens["anna"], seeded.points["anna"]
    raw = await history(gql, token, point, to="2026-12-03T00:00:00Z")
    assert (raw["key"], raw["unit"], raw["timeZone"], raw["aggregation"], raw["count"]) == (
        "volume",
        "m³",
        "Europe/Moscow",
        "NONE",
        5,
    )
    assert [value for _, value in pairs(raw)] == [11.75, 11.5, 11.0, 10.5, 10.0]  # newest first
    day = await history(gql, token, point, aggregation="DAY", to="2026-12-03T00:00:00Z")
    assert pairs(day) == [("2026-12-01T22:00", 11.75), ("2026-12-01T20:30", 11.0), ("2026-11-30T20:30", 10.0)]
    month = await history(gql, token, point, aggregation="MONTH", to="2026-12-03T00:00:00Z")
    assert pairs(month) == [("2026-12-01T22:00", 11.75), ("2026-11-30T20:30", 10.0)]
    # first and the window
    limited = await history(gql, token, point, aggregation="DAY", first=1, to="2026-12-03T00:00:00Z")
    assert pairs(limited) == [("2026-12-01T22:00", 11.75)]
    window = await history(
        gql, token, point, **{"from": "2026-11-30T21:00:00Z", "to": "2026-12-01T21:00:00Z", "aggregation": "DAY"}
    )
    assert pairs(window) == [("2026-12-01T20:30", 11.0)]


async def test_days_follow_a_dst_change(runtime, world, gql):
    seeded = await seed_meters(runtime, world)
    await set_zone(runtime, seeded.points["anna"], "Europe/Berlin")  # CET (+1) until 29 March 2026 01:00 UTC
    await store(
        runtime,
        "33100050",
        [
            ("2026-03-28 22:30", 1.0),  # 23:30 CET on the 28th
            ("2026-03-28 23:30", 2.0),  # 00:30 CET on the 29th
            ("2026-03-29 21:30", 3.0),  # 23:30 CEST on the 29th
            ("2026-03-29 22:30", 4.0),  # 00:30 CEST on the 30th (UTC: still the 29th)
        ],
    )
    day = await history(gql, seeded.tokens["anna"], seeded.points["anna"], aggregation="DAY", to="2026-04-01T00:00:00Z")
    assert pairs(day) == [("2026-03-29T22:30", 4.0), ("2026-03-29T21:30", 3.0), ("2026-03-28T22:30", 1.0)]


async def test_a_consumer_reads_only_their_own_points_readings(runtime, world, gql):
    seeded = await seed_meters(runtime, world)
    await store(runtime, "33100050", [("2026-12-01 10:00", 1.0)])
    await store(runtime, "33100051", [("2026-12-01 10:00", 2.0)])
    await store(runtime, "44100050", [("2026-12-01 10:00", 3.0)])
    to = "2026-12-02T00:00:00Z"
    anna, boris, b = seeded.points["anna"], seeded.points["boris"], seeded.points["b"]
    assert (await history(gql, seeded.tokens["anna"], anna, to=to))["values"] == [1.0]
    assert await history(gql, seeded.tokens["anna"], boris, to=to) is None
    assert await history(gql, seeded.tokens["boris"], anna, to=to) is None
    assert await history(gql, seeded.tokens["anna"], b, to=to) is None
    # staff see their subtree's points, consumers' included; another tenant's read like unknown ones
    for point, value in ((anna, 1.0), (boris, 2.0)):
        assert (await history(gql, world.tokens["admin_a"], point, to=to))["values"] == [value]
        assert await history(gql, world.tokens["admin_b"], point, to=to) is None
    assert (await history(gql, world.tokens["admin_b"], b, to=to))["values"] == [3.0]
    # a plain user holds no METERING_READ; a bad `first` is the caller's mistake
    refused = await gql(READINGS, {"id": to_global_id("MeteringPoint", anna)}, world.tokens["user_a"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await gql(READINGS, {"id": to_global_id("MeteringPoint", anna), "first": 0}, seeded.tokens["anna"])
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_point_without_a_meter_or_readings_has_none(runtime, world, gql):
    seeded = await seed_meters(runtime, world)
    found = await history(gql, seeded.tokens["anna"], seeded.points["anna"])
    assert (found["count"], found["at"], found["values"]) == (0, [], [])
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(mt.MeteringPoint).where(mt.MeteringPoint.id == seeded.points["anna"]).values(meter_id=None)
        )
    assert (await history(gql, seeded.tokens["anna"], seeded.points["anna"]))["count"] == 0


async def test_latest_readings_of_many_meters_in_one_statement(runtime, world, count_sql):
    seeded = await seed_meters(runtime, world)
    await store(runtime, "33100050", [("2026-12-01 10:00", 1.0), ("2026-12-01 11:00", 1.5)])
    await store(runtime, "44100050", [("2026-12-01 09:00", 3.0)])
    async with runtime.session_factory() as session, session.begin():
        # a battery value is no reading: only volume (or energy) counts
        await store_readings(
            session, [ReadingIn("33100051", PointIn("battery", 3.6))], organisation_id=world.organisations["a"].id
        )
    meters = seeded.meters
    async with runtime.session_factory() as session:
        with count_sql() as counted:
            latest = await latest_readings(session, meters.values())
    assert counted.count == 1
    assert set(latest) == {meters["33100050"], meters["44100050"]}
    reading = latest[meters["33100050"]]
    assert (reading.key, reading.unit, reading.at, reading.value) == ("volume", "m³", utc("2026-12-01 11:00"), 1.5)


async def test_a_meters_series_is_no_locations_telemetry(runtime, world, gql):
    """Readings are read through the metering point's scope only: the location telemetry API does not show them."""
    from sqlalchemy import select

    from models import telemetry as tel

    await seed_meters(runtime, world)
    await store(runtime, "33100050", [("2026-12-01 10:00", 1.0)])
    async with runtime.session_factory() as session:
        series = await session.scalar(select(tel.TelemetrySeries.id).where(tel.TelemetrySeries.meter_id.is_not(None)))
    result = await gql(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": to_global_id("TelemetrySeries", series)},
        world.tokens["platform"],
    )
    assert result["data"]["node"] is None


def test_offset_changes_are_found_to_the_second():
    from zoneinfo import ZoneInfo

    from resolvers.metering.readings.history import offset_changes

    changes = offset_changes(ZoneInfo("Europe/Berlin"), utc("2026-01-01 00:00"), utc("2027-01-01 00:00"))
    assert changes == [
        (utc("2026-01-01 00:00"), 3600),
        (utc("2026-03-29 01:00"), 7200),
        (utc("2026-10-25 01:00"), 3600),
    ]
    assert offset_changes(ZoneInfo("Europe/Moscow"), utc("2026-01-01 00:00"), utc("2027-01-01 00:00")) == [
        (utc("2026-01-01 00:00"), 10800)
    ]


async def test_readings_follow_the_meter_owners_telemetry_retention(runtime, world):
    from sqlalchemy import select

    from models import telemetry as tel
    from resolvers.monitoring.telemetry.retention import purge

    await seed_meters(runtime, world)
    await store(runtime, "33100050", [("2026-01-01 10:00", 1.0), ("2026-11-30 10:00", 2.0)])
    async with runtime.session_factory() as session, session.begin():
        session.add(tel.TelemetryRetention(organisation_id=world.organisations["a"].id, days=90))
    async with runtime.session_factory() as session, session.begin():
        await purge(session, 365, utc("2026-12-01 00:00"))
    async with runtime.session_factory() as session:
        assert list(await session.scalars(select(tel.TelemetryPoint.value))) == [2.0]
