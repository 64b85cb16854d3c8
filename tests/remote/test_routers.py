"""Router registration (validation, normalisation, duplicates), assignment and free routers."""

from __future__ import annotations

from sqlalchemy import select

from models import remote as r
from models.audit import AuditEvent
from tests.factories import snapshot
from tests.remote.helpers import ASSIGN, LOCATION_CREATE, REGISTER, grant_location, register

ROUTERS = """query($filter: RouterFilter) {
  routers(filter: $filter, first: 50) { totalCount nodes { commonName organisation { name } location { name } } }
}"""


async def test_register_normalises_and_records(gql, world, runtime):
    result = await gql(
        REGISTER,
        {
            "input": {
                "commonName": " r_m26118014a81b88fb ",
                "macAddress": "00-1a-2b-3c-4d-5e",
                "serialNumber": " SN-1 ",
                "model": "RUT241",
                "firmware": "7.4",
                "organisationId": world.id("Organisation", "a"),
            }
        },
        token=world.tokens["platform"],
    )
    router = result["data"]["routerRegister"]["router"]
    assert result["data"]["routerRegister"]["errors"] == []
    assert router["commonName"] == "R_M26118014A81B88FB"
    assert router["macAddress"] == "00:1A:2B:3C:4D:5E"
    assert router["serialNumber"] == "SN-1"
    assert (router["model"], router["firmware"], router["online"]) == ("RUT241", "7.4", False)
    assert router["organisation"] == {"name": "Tenant A"}
    for mac in ("001a.2b3c.4d5f", "001A2B3C4D60"):
        await register(gql, world, f"R_X{mac[-2:]}", mac, f"SN-{mac}")
    async with runtime.session_factory() as session:
        macs = (await session.scalars(select(r.Router.mac_address).order_by(r.Router.id))).all()
        actions = (await session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "Router"))).all()
    assert macs == ["00:1A:2B:3C:4D:5E", "00:1A:2B:3C:4D:5F", "00:1A:2B:3C:4D:60"]
    assert actions.count("router.registered") == 3


async def test_register_refuses_bad_input_and_duplicates(gql, world, runtime):
    await register(gql, world, "R_M1", "00:00:00:00:00:01", "SN-1")
    before = await snapshot(runtime)
    cases = [
        ({"commonName": "M26118014"}, "INVALID", "commonName"),
        ({"commonName": "R_M 1"}, "INVALID", "commonName"),
        ({"commonName": "  "}, "REQUIRED", "commonName"),
        ({"macAddress": "00:00:00:00:00"}, "INVALID", "macAddress"),
        ({"macAddress": "GG:00:00:00:00:02"}, "INVALID", "macAddress"),
        ({"serialNumber": "SN 2"}, "INVALID", "serialNumber"),
        ({"commonName": "r_m1"}, "DUPLICATE", "commonName"),
        ({"macAddress": "00-00-00-00-00-01"}, "DUPLICATE", "macAddress"),
        ({"serialNumber": "SN-1"}, "DUPLICATE", "serialNumber"),
        ({"organisationId": "T3JnYW5pc2F0aW9uOjk5OTk5OQ"}, "NOT_FOUND", "organisationId"),
    ]
    for change, code, field in cases:
        given = {"commonName": "R_M2", "macAddress": "00:00:00:00:00:02", "serialNumber": "SN-2", **change}
        payload = (await gql(REGISTER, {"input": given}, token=world.tokens["platform"]))["data"]["routerRegister"]
        assert payload["router"] is None, change
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, [field])], change
    assert await snapshot(runtime) == before


async def test_only_platform_admins_register_and_assign(gql, world):
    given = {"commonName": "R_M2", "macAddress": "00:00:00:00:00:02", "serialNumber": "SN-2"}
    for key in ("admin_a", "user_a"):
        result = await gql(REGISTER, {"input": given}, token=world.tokens[key])
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    result = await gql(REGISTER, {"input": given})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def register_three_and_place_one(gql, world) -> tuple[str, dict]:
    """R_NEW (unassigned), R_AT (A's, at the new location Pumping station) and R_B: R_NEW's ID, the creation."""
    unassigned = await register(gql, world, "R_NEW", "00:00:00:00:00:09", "SN-9", organisation=None)
    await register(gql, world, "R_AT", "00:00:00:00:00:08", "SN-8")
    await register(gql, world, "R_B", "00:00:00:00:00:07", "SN-7", organisation="b")
    created = await gql(
        LOCATION_CREATE,
        {
            "input": {
                "name": "Pumping station",
                "routerId": (
                    await gql(
                        '{ routers(filter: {commonNamePrefix: "r_at"}) { nodes { id } } }',
                        token=world.tokens["admin_a"],
                    )
                )["data"]["routers"]["nodes"][0]["id"],
            }
        },
        token=world.tokens["admin_a"],
    )
    assert created["data"]["locationCreate"]["errors"] == []
    return unassigned, created


async def test_assign_and_free_routers(gql, world, runtime):
    unassigned, created = await register_three_and_place_one(gql, world)

    # tenant A's admin sees its own routers only; the unassigned one only the platform
    a = (await gql(ROUTERS, token=world.tokens["admin_a"]))["data"]["routers"]
    assert [n["commonName"] for n in a["nodes"]] == ["R_AT"]
    # a user sees the routers of the locations given to them, nothing before
    assert (await gql(ROUTERS, token=world.tokens["user_a"]))["data"]["routers"]["nodes"] == []
    await grant_location(runtime, world, "user_a", created["data"]["locationCreate"]["location"]["id"])
    a = (await gql(ROUTERS, token=world.tokens["user_a"]))["data"]["routers"]
    assert [n["commonName"] for n in a["nodes"]] == ["R_AT"]
    everything = (await gql(ROUTERS, token=world.tokens["platform"]))["data"]["routers"]
    assert [n["commonName"] for n in everything["nodes"]] == ["R_AT", "R_B", "R_NEW"]
    unassigned_only = (await gql(ROUTERS, {"filter": {"assigned": False}}, token=world.tokens["platform"]))["data"][
        "routers"
    ]
    assert [n["commonName"] for n in unassigned_only["nodes"]] == ["R_NEW"]

    # assign the new router to A: it is a free router of A's (no location yet)
    payload = (
        await gql(
            ASSIGN,
            {"input": {"routerId": unassigned, "organisationId": world.id("Organisation", "a")}},
            token=world.tokens["platform"],
        )
    )["data"]["routerAssign"]
    assert payload["errors"] == [] and payload["router"]["organisation"] == {"name": "Tenant A"}
    free = (await gql(ROUTERS, {"filter": {"free": True}}, token=world.tokens["admin_a"]))["data"]["routers"]
    assert [n["commonName"] for n in free["nodes"]] == ["R_NEW"]
    placed = (await gql(ROUTERS, {"filter": {"free": False}}, token=world.tokens["admin_a"]))["data"]["routers"]
    assert [(n["commonName"], n["location"]) for n in placed["nodes"]] == [("R_AT", {"name": "Pumping station"})]

    # a router at a location cannot move to another organisation
    at = await gql('{ routers(filter: {commonNamePrefix: "R_AT"}) { nodes { id } } }', token=world.tokens["platform"])
    payload = (
        await gql(
            ASSIGN,
            {
                "input": {
                    "routerId": at["data"]["routers"]["nodes"][0]["id"],
                    "organisationId": world.id("Organisation", "b"),
                }
            },
            token=world.tokens["platform"],
        )
    )["data"]["routerAssign"]
    assert [e["code"] for e in payload["errors"]] == ["ROUTER_IN_USE"]
    result = await gql(
        ASSIGN,
        {"input": {"routerId": unassigned, "organisationId": world.id("Organisation", "b")}},
        token=world.tokens["admin_a"],
    )
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
