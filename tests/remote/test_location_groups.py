"""Location groups: create, update, delete, list; what their users reach; refusals; tenancy."""

from __future__ import annotations

from graph.relay import to_global_id
from models import remote as r
from tests.factories import snapshot
from tests.remote.access_helpers import add_locations, connect, connection_row, location_names

GROUP = "locationGroup { id name organisation { name } locations { name } users { email } }"
CREATE = f"""mutation($input: LocationGroupCreateInput!) {{
  locationGroupCreate(input: $input) {{ {GROUP} errors {{ code field message }} }}
}}"""
UPDATE = f"""mutation($input: LocationGroupUpdateInput!) {{
  locationGroupUpdate(input: $input) {{ {GROUP} errors {{ code field message }} }}
}}"""
DELETE = """mutation($input: LocationGroupDeleteInput!) { locationGroupDelete(input: $input) { deletedId errors
  { code field } } }"""
LIST = """query($filter: LocationGroupFilter) { locationGroups(filter: $filter) {
  totalCount nodes { name locations { name } users { email } }
} }"""


async def call(gql, world, document: str, root: str, token: str = "admin_a", **given) -> dict:
    result = await gql(document, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"][root]


async def test_create_update_delete(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a", "Harbour": "a", "Mill": "a"})
    made = await call(
        gql,
        world,
        CREATE,
        "locationGroupCreate",
        name=" North ",
        locationIds=[places.ids["Harbour"], places.ids["Depot"]],
        userIds=[world.id("User", "user_a")],
    )
    assert made["errors"] == []
    group = made["locationGroup"]
    assert (group["name"], group["organisation"], group["locations"], group["users"]) == (
        "North",
        {"name": "Tenant A"},
        [{"name": "Depot"}, {"name": "Harbour"}],
        [{"email": "user@a.example"}],
    )
    assert await location_names(gql, world.tokens["user_a"]) == ["Depot", "Harbour"]

    changed = await call(gql, world, UPDATE, "locationGroupUpdate", id=group["id"], locationIds=[places.ids["Mill"]])
    assert changed["errors"] == [] and changed["locationGroup"]["locations"] == [{"name": "Mill"}]
    assert changed["locationGroup"]["name"] == "North" and changed["locationGroup"]["users"] == [
        {"email": "user@a.example"}
    ]
    assert await location_names(gql, world.tokens["user_a"]) == ["Mill"]
    renamed = await call(gql, world, UPDATE, "locationGroupUpdate", id=group["id"], name="South", userIds=None)
    assert renamed["locationGroup"]["name"] == "South" and renamed["locationGroup"]["users"] == []
    assert await location_names(gql, world.tokens["user_a"]) == []

    deleted = await call(gql, world, DELETE, "locationGroupDelete", id=group["id"])
    assert deleted == {"deletedId": group["id"], "errors": []}
    assert (await gql(LIST, token=world.tokens["admin_a"]))["data"]["locationGroups"]["totalCount"] == 0


async def test_list_for_managers_and_members(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a", "B depot": "b"})
    for name, users in (("North", ["user_a"]), ("South", [])):
        await call(
            gql,
            world,
            CREATE,
            "locationGroupCreate",
            name=name,
            locationIds=[places.ids["Depot"]],
            userIds=[world.id("User", u) for u in users] + [world.id("User", "admin_a")],
        )
    await call(
        gql, world, CREATE, "locationGroupCreate", token="admin_b", name="North", locationIds=[places.ids["B depot"]]
    )
    admin = (await gql(LIST, token=world.tokens["admin_a"]))["data"]["locationGroups"]
    assert admin["totalCount"] == 2 and [n["name"] for n in admin["nodes"]] == ["North", "South"]
    assert admin["nodes"][0]["users"] == [{"email": "admin@a.example"}, {"email": "user@a.example"}]
    # a member sees the groups they are in, and only themselves among the users
    member = (await gql(LIST, token=world.tokens["user_a"]))["data"]["locationGroups"]
    assert member == {
        "totalCount": 1,
        "nodes": [{"name": "North", "locations": [{"name": "Depot"}], "users": [{"email": "user@a.example"}]}],
    }
    assert (await gql(LIST, token=world.tokens["user_a1"]))["data"]["locationGroups"]["totalCount"] == 0
    filtered = await gql(LIST, {"filter": {"nameContains": "sou"}}, token=world.tokens["admin_a"])
    assert [n["name"] for n in filtered["data"]["locationGroups"]["nodes"]] == ["South"]
    bad = await gql(LIST, {"filter": {"organisationId": "nonsense"}}, token=world.tokens["admin_a"])
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def refused_group_calls(world, places, group: str, b_group: str) -> list[tuple[str, str, dict, str, list[str]]]:
    """(document, payload root, input, error code, error field) of calls refused for A's admin."""
    return [
        (CREATE, "locationGroupCreate", {"name": "North"}, "DUPLICATE", ["name"]),
        (CREATE, "locationGroupCreate", {"name": "  "}, "REQUIRED", ["name"]),
        (CREATE, "locationGroupCreate", {"name": "x" * 201}, "TOO_LONG", ["name"]),
        (
            CREATE,
            "locationGroupCreate",
            {"name": "New", "locationIds": [places.ids["Depot"], places.ids["B depot"]]},
            "NOT_FOUND",
            ["locationIds", "1"],
        ),
        # the child's location is of another organisation than the group's (A)
        (
            CREATE,
            "locationGroupCreate",
            {"name": "New", "locationIds": [places.ids["Child depot"]]},
            "WRONG_ORGANISATION",
            ["locationIds", "0"],
        ),
        (
            CREATE,
            "locationGroupCreate",
            {"name": "New", "userIds": [world.id("User", "user_b")]},
            "NOT_FOUND",
            ["userIds", "0"],
        ),
        (
            CREATE,
            "locationGroupCreate",
            {"name": "New", "organisationId": world.id("Organisation", "b")},
            "NOT_FOUND",
            ["organisationId"],
        ),
        (UPDATE, "locationGroupUpdate", {"id": b_group, "name": "Mine"}, "NOT_FOUND", ["id"]),
        (
            UPDATE,
            "locationGroupUpdate",
            {"id": to_global_id("LocationGroup", 999_999), "name": "Mine"},
            "NOT_FOUND",
            ["id"],
        ),
        (
            UPDATE,
            "locationGroupUpdate",
            {"id": group, "locationIds": [places.ids["B depot"]]},
            "NOT_FOUND",
            ["locationIds", "0"],
        ),
        (DELETE, "locationGroupDelete", {"id": b_group}, "NOT_FOUND", ["id"]),
    ]


async def test_refusals_change_nothing(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a", "Child depot": "a1", "B depot": "b"})
    made = await call(gql, world, CREATE, "locationGroupCreate", name="North", locationIds=[places.ids["Depot"]])
    group = made["locationGroup"]["id"]
    b_group = (await call(gql, world, CREATE, "locationGroupCreate", token="admin_b", name="B"))["locationGroup"]["id"]
    before = await snapshot(runtime)
    for document, root, given, code, field in refused_group_calls(world, places, group, b_group):
        payload = await call(gql, world, document, root, **given)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], given
        assert await snapshot(runtime) == before, given
    # a child organisation's group takes the child's locations
    child = await call(
        gql,
        world,
        CREATE,
        "locationGroupCreate",
        name="Child",
        organisationId=world.id("Organisation", "a1"),
        locationIds=[places.ids["Child depot"]],
        userIds=[world.id("User", "user_a1")],
    )
    assert child["errors"] == [] and child["locationGroup"]["organisation"] == {"name": "Tenant A1"}
    # a member who is no manager may not change the group
    refused = await gql(UPDATE, {"input": {"id": group, "name": "Mine"}}, token=world.tokens["user_a"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_losing_a_location_through_a_group_ends_the_connection(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a", "Harbour": "a"})
    made = await call(
        gql,
        world,
        CREATE,
        "locationGroupCreate",
        name="North",
        locationIds=[places.ids["Depot"], places.ids["Harbour"]],
        userIds=[world.id("User", "user_a")],
    )
    group = made["locationGroup"]["id"]
    depot = await connect(runtime, world, places, "user_a", "Depot")
    assert (await call(gql, world, UPDATE, "locationGroupUpdate", id=group, locationIds=[places.ids["Harbour"]]))[
        "errors"
    ] == []
    assert (await connection_row(runtime, depot)).end_reason == r.ConnectionEnd.ACCESS_REVOKED
    harbour = await connect(runtime, world, places, "user_a", "Harbour")
    assert (await call(gql, world, DELETE, "locationGroupDelete", id=group))["errors"] == []
    assert (await connection_row(runtime, harbour)).end_reason == r.ConnectionEnd.ACCESS_REVOKED
