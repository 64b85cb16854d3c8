"""The demo has cases with calls at IntegraDemo's locations: the admin sees both, Erika her own work."""

from __future__ import annotations

from sqlalchemy import select

from graph.composition import DEMO
from graph.demo import seed_demo
from models import identity as m
from tests.factories import issue_token

DEMO_CASES = """{ cases { nodes { location { name } device { name } closed minutesWorked status { name }
  calls { totalCount nodes { activityType { name } user { email } } } } }
  caseStatuses { nodes { name } } activityTypes { totalCount } }"""
MINE = """{ cases(filter: {mine: true}) { nodes { location { name } } } }"""


async def demo_token(runtime, email: str) -> str:
    async with runtime.session_factory() as session, session.begin():
        return await issue_token(session, await session.scalar(select(m.User).where(m.User.email == email)))


async def test_demo_has_cases_with_calls(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    admin = await gql(DEMO_CASES, token=await demo_token(runtime, "demo@integra-metering.com"))
    assert "errors" not in admin, admin
    cases = admin["data"]["cases"]["nodes"]
    assert [
        (c["location"]["name"], c["device"], c["closed"], c["minutesWorked"], c["status"]["name"]) for c in cases
    ] == [
        ("Wasserwerk Süd", None, False, 60, "Waiting on customer"),
        ("Pumpstation Nord", {"name": "HMI Pumpe 1"}, True, 90, "Closed"),
    ]
    assert [call["user"]["email"] for call in cases[1]["calls"]["nodes"]] == [
        "erika@integra-metering.com",
        "demo@integra-metering.com",
        "erika@integra-metering.com",
    ]
    assert [s["name"] for s in admin["data"]["caseStatuses"]["nodes"]] == [
        "Open",
        "Waiting on customer",
        "Waiting on us",
        "Closed",
    ]
    assert admin["data"]["activityTypes"]["totalCount"] == 5
    erika = await gql(MINE, token=await demo_token(runtime, "erika@integra-metering.com"))
    assert [c["location"]["name"] for c in erika["data"]["cases"]["nodes"]] == ["Pumpstation Nord"]
