"""Telemetry retention per organisation: the setting (mutation and query), and the purge: rows of shorter
retentions deleted, on PostgreSQL day partitions older than the longest retention dropped and the next days'
made ahead, none dropped while an organisation keeps points forever."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from graph.relay import to_global_id
from graph.workers import transaction
from models import remote as r
from models import telemetry as tel
from models.base import utcnow
from resolvers.monitoring.telemetry.partitions import existing_partitions
from resolvers.monitoring.telemetry.points import PointIn
from resolvers.monitoring.telemetry.retention import DAYS_AHEAD, purge
from resolvers.monitoring.workers.telemetry_purge import TelemetryPurge
from tests.factories import add_location

SET = """mutation($input: TelemetryRetentionSetInput!) { telemetryRetentionSet(input: $input) {
  retention { days isDefault } errors { code field } } }"""
GET = "query($id: ID!) { telemetryRetention(organisationId: $id) { days isDefault } }"
AGES = (45, 20, 5)  # days


async def seed(runtime, world) -> dict[str, int]:
    """Tenants A and B: a location each with a point 45, 20 and 5 days ago."""
    from resolvers.monitoring.telemetry.rules import store_points

    now = utcnow()
    locations = {}
    async with transaction(runtime) as session:
        for tenant in ("a", "b"):
            location = await add_location(session, world.organisations[tenant].id, f"Plant {tenant}")
            points = [PointIn("level", float(age), now - timedelta(days=age)) for age in AGES]
            await store_points(session, None, location, points, late=timedelta(days=60))
            locations[tenant] = location.id
    return locations


async def ages(runtime) -> dict[int, list[int]]:
    now = utcnow()
    async with runtime.session_factory() as session:
        rows = await session.execute(
            select(tel.TelemetrySeries.location_id, tel.TelemetryPoint.at)
            .join(tel.TelemetrySeries, tel.TelemetrySeries.id == tel.TelemetryPoint.series_id)
            .order_by(tel.TelemetryPoint.at)
        )
        found: dict[int, list[int]] = {}
        for location_id, at in rows:
            found.setdefault(location_id, []).append(round((now - at) / timedelta(days=1)))
        return found


async def test_retention_setting(runtime, world, gql):
    organisation = world.id("Organisation", "a")
    token = world.tokens["admin_a"]
    assert (await gql(GET, {"id": organisation}, token))["data"]["telemetryRetention"] == {
        "days": runtime.settings.telemetry_retention_days,
        "isDefault": True,
    }
    result = await gql(SET, {"input": {"days": 10}}, token)  # default: the caller's own organisation
    assert result["data"]["telemetryRetentionSet"] == {"retention": {"days": 10, "isDefault": False}, "errors": []}
    refused = await gql(SET, {"input": {"days": -1, "organisationId": organisation}}, token)
    assert refused["data"]["telemetryRetentionSet"]["errors"] == [{"code": "INVALID", "field": ["days"]}]
    assert (await gql(GET, {"id": organisation}, token))["data"]["telemetryRetention"]["days"] == 10
    await gql(SET, {"input": {"days": None}}, token)
    assert (await gql(GET, {"id": organisation}, token))["data"]["telemetryRetention"]["isDefault"] is True
    forbidden = await gql(SET, {"input": {"days": 1}}, world.tokens["user_a"])
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_purge_by_organisation_retention(runtime, world, gql):
    locations = await seed(runtime, world)
    # A keeps 10 days; B the default (30 here)
    await gql(SET, {"input": {"days": 10}}, world.tokens["admin_a"])
    async with transaction(runtime) as session:
        purged = await purge(session, 30, utcnow())
    assert await ages(runtime) == {locations["a"]: [5], locations["b"]: [20, 5]}
    async with runtime.session_factory() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        partitions = await existing_partitions(session) if postgres else set()
    if postgres:
        # the day 45 days ago is older than the longest retention (30): dropped whole, not deleted row by row
        assert (utcnow() - timedelta(days=45)).date() in purged.dropped
        assert purged.deleted == 1  # only A's point of 20 days ago: both points of 45 days ago went with their day
        assert all(day >= (utcnow() - timedelta(days=30)).date() for day in partitions)
        assert {(utcnow() + timedelta(days=n)).date() for n in range(DAYS_AHEAD + 1)} <= partitions
    else:
        assert purged.deleted == 3 and purged.dropped == []


async def test_no_partition_is_dropped_while_an_organisation_keeps_points_forever(runtime, world, gql):
    locations = await seed(runtime, world)
    await gql(SET, {"input": {"days": 0}}, world.tokens["admin_b"])
    async with transaction(runtime) as session:
        purged = await purge(session, 10, utcnow())
    assert purged.dropped == []
    assert await ages(runtime) == {locations["a"]: [5], locations["b"]: [45, 20, 5]}


async def test_the_worker_purges_and_the_default_partition_is_purged_too(runtime, world):
    locations = await seed(runtime, world)
    async with transaction(runtime) as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:  # a point of a day without a partition lands in the default partition
            series = await session.scalar(
                select(tel.TelemetrySeries.id).where(tel.TelemetrySeries.location_id == locations["a"])
            )
            await session.execute(
                text("INSERT INTO telemetry_point_default (series_id, at, value) VALUES (:s, :at, 1)"),
                {"s": series, "at": utcnow() - timedelta(days=400)},
            )
        location = await session.get(r.Location, locations["a"])
        assert location is not None
    purged = await TelemetryPurge(runtime).run_round()
    assert await ages(runtime) == {locations["a"]: [45, 20, 5], locations["b"]: [45, 20, 5]}  # default: 365 days
    assert purged.deleted == (1 if postgres else 0)


def test_ids_are_global():
    assert to_global_id("Organisation", 1) != "1"
