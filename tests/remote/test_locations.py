"""Locations: create, update, delete, router assignment, pins per user, refusals."""

from __future__ import annotations

from tests.factories import snapshot
from tests.remote.helpers import LOCATION_CREATE, grant_location, register

UPDATE = """mutation($input: LocationUpdateInput!) {
  locationUpdate(input: $input) { location { name latitude longitude } errors { code field message } }
}"""
DELETE = (
    """mutation($input: LocationDeleteInput!) { locationDelete(input: $input) { deletedId errors { code field } } }"""
)
ASSIGN_ROUTER = """mutation($input: LocationAssignRouterInput!) {
  locationAssignRouter(input: $input) { location { name router { commonName } } errors { code field message } }
}"""
PIN = """mutation($input: LocationPinInput!) { locationPin(input: $input) { location { name pinned } errors {
  code } } }"""
LOCATIONS = """query($filter: LocationFilter) {
  locations(filter: $filter, first: 50) { totalCount nodes { name pinned organisation { name } router { commonName } } }
}"""


async def create(gql, world, token: str = "admin_a", **given) -> dict:
    result = await gql(LOCATION_CREATE, {"input": given}, token=world.tokens[token])
    return result["data"]["locationCreate"]


async def test_create_update_delete(gql, world, runtime):
    router = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    made = await create(gql, world, name=" Depot ", routerId=router, latitude=52.09, longitude=5.12)
    assert made["errors"] == []
    location = made["location"]
    assert (location["name"], location["latitude"], location["longitude"]) == ("Depot", 52.09, 5.12)
    assert location["router"] == {"commonName": "R_A1"} and location["organisation"] == {"name": "Tenant A"}
    child = await create(gql, world, name="Depot", organisationId=world.id("Organisation", "a1"))
    assert child["errors"] == [] and child["location"]["organisation"] == {"name": "Tenant A1"}

    updated = await gql(UPDATE, {"input": {"id": location["id"], "name": "Main depot"}}, token=world.tokens["admin_a"])
    assert updated["data"]["locationUpdate"]["location"] == {"name": "Main depot", "latitude": 52.09, "longitude": 5.12}
    off_map = await gql(
        UPDATE, {"input": {"id": location["id"], "latitude": None, "longitude": None}}, token=world.tokens["admin_a"]
    )
    assert off_map["data"]["locationUpdate"]["location"] == {"name": "Main depot", "latitude": None, "longitude": None}

    deleted = (await gql(DELETE, {"input": {"id": location["id"]}}, token=world.tokens["admin_a"]))["data"][
        "locationDelete"
    ]
    assert deleted == {"deletedId": location["id"], "errors": []}
    # its router is free again
    free = await gql("{ routers(filter: {free: true}) { nodes { commonName } } }", token=world.tokens["admin_a"])
    assert free["data"]["routers"]["nodes"] == [{"commonName": "R_A1"}]


async def test_refusals_change_nothing(gql, world, runtime):
    router_a = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    router_a1 = await register(gql, world, "R_A2", "00:00:00:00:00:02", "SN-2", organisation="a1")
    assert (await create(gql, world, name="Depot", routerId=router_a))["errors"] == []
    before = await snapshot(runtime)
    refused = [
        ({"name": " "}, "REQUIRED", "name"),
        ({"name": "x" * 201}, "TOO_LONG", "name"),
        ({"name": "Depot"}, "DUPLICATE", "name"),
        ({"name": "New", "latitude": 91.0, "longitude": 0.0}, "INVALID", "latitude"),
        ({"name": "New", "latitude": 0.0, "longitude": -180.5}, "INVALID", "longitude"),
        ({"name": "New", "latitude": 10.0}, "REQUIRED", "longitude"),
        ({"name": "New", "routerId": router_a}, "ROUTER_IN_USE", "routerId"),
        ({"name": "New", "routerId": router_a1}, "WRONG_ORGANISATION", "routerId"),
    ]
    for given, code, field in refused:
        payload = await create(gql, world, **given)
        assert payload["location"] is None, given
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, [field])], given
    # plain users read locations but do not manage them
    result = await gql(LOCATION_CREATE, {"input": {"name": "New"}}, token=world.tokens["user_a"])
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(runtime) == before


async def test_assign_router_replaces_and_removes(gql, world):
    first = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    second = await register(gql, world, "R_A2", "00:00:00:00:00:02", "SN-2")
    location = (await create(gql, world, name="Depot", routerId=first))["location"]["id"]
    other = (await create(gql, world, name="Office"))["location"]["id"]

    payload = (
        await gql(ASSIGN_ROUTER, {"input": {"locationId": location, "routerId": second}}, token=world.tokens["admin_a"])
    )["data"]["locationAssignRouter"]
    assert payload["errors"] == [] and payload["location"]["router"] == {"commonName": "R_A2"}
    # the replaced router is free and can go elsewhere; the placed one cannot
    refused = (
        await gql(ASSIGN_ROUTER, {"input": {"locationId": other, "routerId": second}}, token=world.tokens["admin_a"])
    )["data"]["locationAssignRouter"]
    assert [e["code"] for e in refused["errors"]] == ["ROUTER_IN_USE"]
    moved = (
        await gql(ASSIGN_ROUTER, {"input": {"locationId": other, "routerId": first}}, token=world.tokens["admin_a"])
    )["data"]["locationAssignRouter"]
    assert moved["location"]["router"] == {"commonName": "R_A1"}
    removed = (
        await gql(ASSIGN_ROUTER, {"input": {"locationId": location, "routerId": None}}, token=world.tokens["admin_a"])
    )["data"]["locationAssignRouter"]
    assert removed["location"]["router"] is None
    without = await gql(LOCATIONS, {"filter": {"hasRouter": False}}, token=world.tokens["admin_a"])
    assert [n["name"] for n in without["data"]["locations"]["nodes"]] == ["Depot"]


async def test_pins_are_per_user(gql, world, runtime):
    depot = (await create(gql, world, name="Depot"))["location"]["id"]
    office = (await create(gql, world, name="Office"))["location"]["id"]
    for location in (depot, office):
        await grant_location(runtime, world, "user_a", location)
    for _ in range(2):  # pinning twice is harmless
        pinned = await gql(PIN, {"input": {"locationId": depot, "pinned": True}}, token=world.tokens["user_a"])
        assert pinned["data"]["locationPin"] == {"location": {"name": "Depot", "pinned": True}, "errors": []}

    mine = (await gql(LOCATIONS, token=world.tokens["user_a"]))["data"]["locations"]["nodes"]
    assert [(n["name"], n["pinned"]) for n in mine] == [("Depot", True), ("Office", False)]
    theirs = (await gql(LOCATIONS, token=world.tokens["admin_a"]))["data"]["locations"]["nodes"]
    assert [(n["name"], n["pinned"]) for n in theirs] == [("Depot", False), ("Office", False)]
    only_pinned = await gql(LOCATIONS, {"filter": {"pinned": True}}, token=world.tokens["user_a"])
    assert [n["name"] for n in only_pinned["data"]["locations"]["nodes"]] == ["Depot"]

    await gql(PIN, {"input": {"locationId": depot, "pinned": False}}, token=world.tokens["user_a"])
    mine = (await gql(LOCATIONS, token=world.tokens["user_a"]))["data"]["locations"]["nodes"]
    assert [n["pinned"] for n in mine] == [False, False]


async def test_other_tenant_sees_nothing(gql, world):
    router = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    await create(gql, world, name="Depot", routerId=router, latitude=1.0, longitude=2.0)
    for key in ("admin_b", "user_b"):
        locations = await gql(LOCATIONS, token=world.tokens[key])
        assert locations["data"]["locations"] == {"totalCount": 0, "nodes": []}
        routers = await gql("{ routers { totalCount } }", token=world.tokens[key])
        assert routers["data"]["routers"]["totalCount"] == 0
    # the child organisation's user sees only A1's locations, not its parent's
    child = await gql(LOCATIONS, token=world.tokens["user_a1"])
    assert child["data"]["locations"]["totalCount"] == 0


async def test_update_refusals(gql, world, runtime):
    depot = (await create(gql, world, name="Depot", latitude=1.0, longitude=2.0))["location"]["id"]
    await create(gql, world, name="Office")
    before = await snapshot(runtime)
    for given, code, field in (
        ({"name": "Office"}, "DUPLICATE", "name"),
        ({"name": None}, "REQUIRED", "name"),
        ({"latitude": None}, "REQUIRED", "latitude"),
        ({"longitude": 200.0}, "INVALID", "longitude"),
    ):
        payload = (await gql(UPDATE, {"input": {"id": depot, **given}}, token=world.tokens["admin_a"]))["data"][
            "locationUpdate"
        ]
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, [field])], given
    assert await snapshot(runtime) == before
    # renaming to its own name is no duplicate
    same = (await gql(UPDATE, {"input": {"id": depot, "name": "Depot"}}, token=world.tokens["admin_a"]))["data"][
        "locationUpdate"
    ]
    assert same["errors"] == []
