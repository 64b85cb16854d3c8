"""The demo: a consumer in a consumers' organisation with two metering points and their bound meters, and a
third meter free to bind with its passport's PIN."""

from __future__ import annotations

from sqlalchemy import select

from graph.composition import DEMO
from graph.demo import seed_demo
from models import identity as m
from resolvers.metering.points.demo import DEMO_CONSUMER, DEMO_METERS
from tests.factories import issue_token
from tests.metering.helpers import BIND, CREATE, LIST


async def test_the_demo_consumer_has_two_points_with_meters(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    async with runtime.session_factory() as session, session.begin():
        consumer = await session.scalar(select(m.User).where(m.User.email == DEMO_CONSUMER[1]))
        roles = (await session.scalars(select(m.UserRole.role).where(m.UserRole.user_id == consumer.id))).all()
        token = await issue_token(session, consumer)
        staff = await session.scalar(select(m.User).where(m.User.email == "demo@integra-metering.com"))
        staff_token = await issue_token(session, staff)
    assert roles == [m.Role.CONSUMER]
    points = (await gql(LIST, {}, token=token))["data"]["meteringPoints"]
    assert points["totalCount"] == 2
    assert sorted(p["meter"]["displayName"] for p in points["nodes"]) == [
        "33100050 DECAST VSKM-15 IWAN (NB-IoT)",
        "33100051 DECAST VSGM-15 IWAN (NB-IoT)",
    ]
    assert {p["address"]["city"] for p in points["nodes"]} == {"Москва"}
    # the meters have a history of readings (kept under the meters' owner, the demo utility)
    latest = await gql("{ meteringPoints { nodes { latestReading { key unit } } } }", {}, token=token)
    assert [p["latestReading"] for p in latest["data"]["meteringPoints"]["nodes"]] == [
        {"key": "volume", "unit": "m³"}
    ] * 2
    # IntegraDemo's staff see their consumers' points too
    assert (await gql(LIST, {}, token=staff_token))["data"]["meteringPoints"]["totalCount"] == 2

    serial, _, pin, _ = DEMO_METERS[2]
    created = await gql(
        CREATE,
        {"input": {"resource": "COLD_WATER", "roomName": "Flat 16 kitchen", "timeZone": "Europe/Moscow"}},
        token=token,
    )
    point_id = created["data"]["meteringPointCreate"]["meteringPoint"]["id"]
    bound = await gql(
        BIND, {"input": {"meteringPointId": point_id, "qr": f"fleetgraph:meter?sn={serial}&pin={pin}"}}, token=token
    )
    assert bound["data"]["meterBind"]["errors"] == []
