"""External users: invited by e-mail, let in once they accept, given chosen locations, seeing nothing else
of the organisation (every boundary tried), removed with all their grants and connections there.
(What the inviting side may learn before and after consent: tests/remote/test_external_consent.py.)"""

from __future__ import annotations

from sqlalchemy import select

from graph.relay import to_global_id
from models import identity as m
from models import remote as r
from tests.factories import add_external_user, add_organisation, add_user, snapshot
from tests.remote.access_helpers import ACCESS_SET, add_group, add_locations, connect, connection_row, location_names

ADD = """mutation($input: ExternalUserAddInput!) {
  externalUserAdd(input: $input) { invitation { id email organisation { name } } errors { code field message } }
}"""
ACCEPT = """mutation($input: ExternalUserInvitationIdInput!) {
  externalUserInvitationAccept(input: $input) { externalUser { user { email } organisation { name } } errors {
    code field message } }
}"""
REMOVE = """mutation($input: ExternalUserRemoveInput!) {
  externalUserRemove(input: $input) { removedUserId errors { code field message } }
}"""
LIST = "{ externalUsers { totalCount nodes { user { email } organisation { name } } } }"
GROUP_CREATE = """mutation($input: LocationGroupCreateInput!) {
  locationGroupCreate(input: $input) { locationGroup { id users { email } } errors { code field } }
}"""


async def call(gql, world, document: str, root: str, token: str = "admin_a", **given) -> dict:
    result = await gql(document, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"][root]


async def let_in(gql, world, email: str, invitee: str, **given) -> dict:
    """A's admin invites the address, and the invited user accepts."""
    made = await call(gql, world, ADD, "externalUserAdd", email=email, **given)
    assert made["errors"] == [], made
    accepted = await call(
        gql, world, ACCEPT, "externalUserInvitationAccept", token=invitee, id=made["invitation"]["id"]
    )
    assert accepted["errors"] == [], accepted
    return accepted["externalUser"]


async def test_add_list_and_refusals(gql, world, runtime):
    made = await call(gql, world, ADD, "externalUserAdd", email=" User@B.example ")
    assert made["errors"] == [] and made["invitation"]["email"] == "user@b.example"
    assert made["invitation"]["organisation"] == {"name": "Tenant A"}
    # invited, not yet let in
    assert (await gql(LIST, token=world.tokens["admin_a"]))["data"]["externalUsers"]["totalCount"] == 0
    accepted = await call(
        gql, world, ACCEPT, "externalUserInvitationAccept", token="user_b", id=made["invitation"]["id"]
    )
    assert accepted == {
        "externalUser": {"user": {"email": "user@b.example"}, "organisation": {"name": "Tenant A"}},
        "errors": [],
    }
    listed = (await gql(LIST, token=world.tokens["admin_a"]))["data"]["externalUsers"]
    assert listed == {"totalCount": 1, "nodes": [accepted["externalUser"]]}
    assert (await gql(LIST, token=world.tokens["admin_b"]))["data"]["externalUsers"]["totalCount"] == 0
    before = await snapshot(runtime)
    for given, code, field in (
        ({"email": "user@b.example"}, "DUPLICATE", ["email"]),
        ({"email": ""}, "REQUIRED", ["email"]),
        ({"email": "not an address"}, "INVALID", ["email"]),
        ({"email": "user@a1.example"}, "INVALID", ["email"]),  # one of A's own
        ({"email": "user@b.example", "organisationId": world.id("Organisation", "b")}, "NOT_FOUND", ["organisationId"]),
    ):
        payload = await call(gql, world, ADD, "externalUserAdd", **given)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], given
        assert await snapshot(runtime) == before
    for given in (
        {"userId": world.id("User", "user_a")},
        {"userId": world.id("User", "admin_b")},
        {"userId": world.id("User", "user_b"), "organisationId": world.id("Organisation", "a1")},
    ):
        payload = await call(gql, world, REMOVE, "externalUserRemove", **given)
        assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"], given
    assert await snapshot(runtime) == before
    refused = await gql(LIST, token=world.tokens["user_a"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_external_user_sees_only_what_was_given(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a", "Harbour": "a", "B depot": "b", "B mill": "b"})
    crew = await add_group(runtime, world, "a", "Crew", ["user_a"])
    external = world.id("User", "user_b")
    # not yet external: B's user reads like an unknown one
    refused = await call(
        gql, world, ACCESS_SET, "locationAccessSet", locationId=places.ids["Depot"], userIds=[external]
    )
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["userIds", "0"])]
    await let_in(gql, world, "user@b.example", "user_b")
    given = await call(gql, world, ACCESS_SET, "locationAccessSet", locationId=places.ids["Depot"], userIds=[external])
    assert given["errors"] == [] and given["location"]["users"] == [{"email": "user@b.example"}]
    token = world.tokens["user_b"]
    seen = (
        await gql(
            "{ locations { nodes { name organisation { name } router { commonName organisation { name } } "
            "users { email } userGroups { name } effectiveAccess { user { email } } } } }",
            token=token,
        )
    )["data"]
    # their own organisation's locations are not given to them either (a plain user of B)
    assert seen["locations"]["nodes"] == [
        {
            "name": "Depot",
            "organisation": None,
            "router": {"commonName": "R_ACC000", "organisation": None},
            "users": [{"email": "user@b.example"}],
            "userGroups": [],
            "effectiveAccess": [{"user": {"email": "user@b.example"}}],
        }
    ]
    # every other ID of A reads like an unknown one
    for kind_id in (
        places.ids["Harbour"],
        crew,
        world.id("User", "user_a"),
        world.id("User", "admin_a"),
        world.id("Organisation", "a"),
        to_global_id("Router", places.routers["Harbour"]),
    ):
        assert (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": kind_id}, token=token))["data"][
            "node"
        ] is None
    users = await gql("{ users { nodes { email } } }", token=token)
    assert "user@a.example" not in str(users) and "admin@a.example" not in str(users)
    # an external user holds no LOCATIONS_MANAGE over A: no changes to the location
    changed = await gql(ACCESS_SET, {"input": {"locationId": places.ids["Depot"], "userIds": []}}, token=token)
    assert changed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # B's admin does not see A's location, although their user may reach it
    assert "Depot" not in await location_names(gql, world.tokens["admin_b"])


async def test_removal_takes_every_grant_and_connection(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a", "Harbour": "a", "Child depot": "a1"})
    external = world.id("User", "user_b")
    await let_in(gql, world, "user@b.example", "user_b")
    await let_in(gql, world, "user@b.example", "user_b", organisationId=world.id("Organisation", "a1"))
    await call(gql, world, ACCESS_SET, "locationAccessSet", locationId=places.ids["Depot"], userIds=[external])
    await call(gql, world, ACCESS_SET, "locationAccessSet", locationId=places.ids["Child depot"], userIds=[external])
    group = await call(
        gql,
        world,
        GROUP_CREATE,
        "locationGroupCreate",
        name="North",
        locationIds=[places.ids["Harbour"]],
        userIds=[external, world.id("User", "user_a")],
    )
    assert group["errors"] == []
    assert await location_names(gql, world.tokens["user_b"]) == ["Child depot", "Depot", "Harbour"]
    connection = await connect(runtime, world, places, "user_b", "Harbour")

    removed = await call(gql, world, REMOVE, "externalUserRemove", userId=external)
    assert removed == {"removedUserId": external, "errors": []}
    # A's grants are gone; the grant of A1 (where they are still external) stays
    assert await location_names(gql, world.tokens["user_b"]) == ["Child depot"]
    assert (await connection_row(runtime, connection)).end_reason == r.ConnectionEnd.ACCESS_REVOKED
    async with runtime.session_factory() as session:
        left = (await session.scalars(select(r.LocationGroupUser.user_id))).all()
    assert left == [world.users["user_a"].id]
    listed = (await gql(LIST, token=world.tokens["admin_a"]))["data"]["externalUsers"]
    assert listed["nodes"] == [{"user": {"email": "user@b.example"}, "organisation": {"name": "Tenant A1"}}]
    # once removed, the user can no longer be given A's locations
    again = await call(gql, world, ACCESS_SET, "locationAccessSet", locationId=places.ids["Depot"], userIds=[external])
    assert [e["code"] for e in again["errors"]] == ["NOT_FOUND"]


async def test_the_list_runs_in_a_fixed_number_of_statements(gql, world, runtime, count_sql):
    """Users of B let into children of A: the list with each one's user and organisation, for 3 and for 30."""
    counts = []
    for size in (3, 30):
        async with runtime.session_factory() as session, session.begin():
            a = await session.get(m.Organisation, world.organisations["a"].id)
            b = await session.get(m.Organisation, world.organisations["b"].id)
            for i in range(size):
                child = await add_organisation(session, f"Host {size}-{i:02d}", a)
                guest = await add_user(session, b, f"guest{size}-{i:02d}@b.example", [m.Role.USER])
                await add_external_user(session, child.id, guest)
        with count_sql() as counter:
            result = await gql(
                "{ externalUsers(first: 100) { totalCount nodes { user { email } organisation { name } } } }",
                token=world.tokens["admin_a"],
            )
        assert "errors" not in result, result
        listed = result["data"]["externalUsers"]
        assert listed["totalCount"] == len(listed["nodes"]) == (3 if size == 3 else 33)
        assert {"user": {"email": f"guest{size}-01@b.example"}, "organisation": {"name": f"Host {size}-01"}} in (
            listed["nodes"]
        )
        counts.append(counter.count)
    # authentication 1 + page 1 + totalCount 1 + users 1 + organisations 1
    assert counts == [5, 5]
