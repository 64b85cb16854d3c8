"""The demo's remote access data shows the access rules: the admin sees all, Erika what was given to her
(directly and through a location group), Paula (another organisation) only her one location."""

from __future__ import annotations

from sqlalchemy import select

from graph.composition import DEMO
from graph.demo import seed_demo
from models import identity as m
from tests.factories import issue_token

DASHBOARD = """{ locations { nodes { name latitude router { commonName online latestStatus { cpuLoad } } } }
  routers { nodes { commonName } } }"""


async def demo_token(runtime, email: str) -> str:
    async with runtime.session_factory() as session, session.begin():
        return await issue_token(session, await session.scalar(select(m.User).where(m.User.email == email)))


async def test_demo_locations_per_user(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    seen = {}
    for email in (
        "demo@integra-metering.com",
        "erika@integra-metering.com",
        "paula@partner-metering.example",
        "max@service.integra-metering.com",
    ):
        data = (await gql(DASHBOARD, token=await demo_token(runtime, email)))["data"]
        seen[email] = (
            [n["name"] for n in data["locations"]["nodes"]],
            [n["commonName"] for n in data["routers"]["nodes"]],
        )
    admin_locations, admin_routers = seen["demo@integra-metering.com"]
    # its customer's shop and router too (issue 18: Bakkerij Demo)
    assert admin_locations == ["Bakkerij Centrum", "Pumpstation Nord", "Wasserwerk Süd"]
    assert len(admin_routers) == 4  # the free one too
    assert seen["erika@integra-metering.com"] == (
        admin_locations[1:],
        ["R_M26118014A81B88FB", "R_M26118014A81B8900"],
    )
    assert seen["paula@partner-metering.example"] == (["Wasserwerk Süd"], ["R_M26118014A81B8900"])
    # the child organisation's admin sees nothing of its parent's
    assert seen["max@service.integra-metering.com"] == ([], [])


CONNECTIONS = """{ connectionLicence { maxActive active }
  notificationProfiles(filter: {nameContains: "Leitwarte"}) {
    nodes { name offlineMinutes users { email } emails locationGroups { name } } }
  locations(filter: {nameContains: "Nord"}) { nodes { connectionHistory { nodes { userEmail deviceName duration
    endReason } } } } }"""


async def test_demo_licence_history_and_notification_profile(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    data = (await gql(CONNECTIONS, token=await demo_token(runtime, "demo@integra-metering.com")))["data"]
    assert data["connectionLicence"] == {"maxActive": 5, "active": 0}
    assert data["notificationProfiles"]["nodes"] == [
        {
            "name": "Leitwarte",
            "offlineMinutes": 15,
            "users": [{"email": "demo@integra-metering.com"}],
            "emails": ["leitwarte@integra-metering.com"],
            "locationGroups": [{"name": "Wasserwerke"}],
        }
    ]
    history = data["locations"]["nodes"][0]["connectionHistory"]["nodes"]
    assert history == [
        {
            "userEmail": "erika@integra-metering.com",
            "deviceName": "HMI Pumpe 1",
            "duration": 25 * 60,
            "endReason": "DISCONNECTED",
        }
    ]


async def test_demo_paula_is_an_accepted_external_user(gql, runtime):
    """Paula's invitation counts as accepted: she is listed, by name and e-mail only, and nothing is pending."""
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    token = await demo_token(runtime, "demo@integra-metering.com")
    data = (
        await gql(
            "{ externalUsers { nodes { user { name email } organisation { name } } } "
            "externalUserInvitations { totalCount } }",
            token=token,
        )
    )["data"]
    assert data == {
        "externalUsers": {
            "nodes": [
                {
                    "user": {"name": "Paula Partner", "email": "paula@partner-metering.example"},
                    "organisation": {"name": "IntegraDemo"},
                }
            ]
        },
        "externalUserInvitations": {"totalCount": 0},
    }
