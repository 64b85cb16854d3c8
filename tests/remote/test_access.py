"""Location access: direct and user-group grants (locationAccessSet), effective access, what a plain
user then sees, refusals that change nothing, and connections ended when access is withdrawn."""

from __future__ import annotations

from sqlalchemy import select

from graph.relay import to_global_id
from models import remote as r
from models.audit import AuditEvent
from resolvers.remote.access.rules import end_unreachable_connections
from tests.factories import add_location_group, snapshot
from tests.remote.access_helpers import (
    ACCESS_SET,
    add_group,
    add_locations,
    connect,
    connection_row,
    location_names,
    router_events,
    wait_for,
)

EFFECTIVE = """query($id: ID!) { node(id: $id) { ... on Location {
  users { email } userGroups { name } groups { name }
  effectiveAccess { user { email } via userGroups { name } locationGroups { name } }
} } }"""
BY_USER = """query($id: ID!) { effectiveLocationAccess(userId: $id) {
  totalCount nodes { location { name } via userGroups { name } locationGroups { name } }
} }"""


async def access_set(gql, world, token: str = "admin_a", **given) -> dict:
    result = await gql(ACCESS_SET, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"]["locationAccessSet"]


async def test_a_grant_shows_the_location_and_its_router_to_a_plain_user(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a", "Harbour": "a"})
    assert await location_names(gql, world.tokens["user_a"]) == []
    made = await access_set(gql, world, locationId=places.ids["Depot"], userIds=[world.id("User", "user_a")])
    assert made["errors"] == [] and made["location"]["users"] == [{"email": "user@a.example"}]
    seen = (
        await gql(
            "{ locations { nodes { name router { commonName } } } routers { nodes { commonName } } }",
            token=world.tokens["user_a"],
        )
    )["data"]
    assert seen["locations"]["nodes"] == [{"name": "Depot", "router": {"commonName": "R_ACC000"}}]
    assert seen["routers"]["nodes"] == [{"commonName": "R_ACC000"}]
    # the list left out (userGroupIds) stays; an empty list withdraws
    assert (await access_set(gql, world, locationId=places.ids["Depot"], userIds=[]))["errors"] == []
    assert await location_names(gql, world.tokens["user_a"]) == []
    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(select(AuditEvent.action).where(AuditEvent.action == "location.access_set"))
        ).all()
    assert len(actions) == 2


async def assert_user_a_reaches_the_depot_three_ways(gql, world):
    """Which locations a user reaches and why: for managers only, and B's admin learns nothing of A's user."""
    # the other way round: which locations a user reaches and why (managers only)
    by_user = (await gql(BY_USER, {"id": world.id("User", "user_a")}, token=world.tokens["admin_a"]))["data"]
    assert by_user["effectiveLocationAccess"] == {
        "totalCount": 1,
        "nodes": [
            {
                "location": {"name": "Depot"},
                "via": ["DIRECT", "USER_GROUP", "LOCATION_GROUP"],
                "userGroups": [{"name": "Crew"}],
                "locationGroups": [{"name": "North"}],
            }
        ],
    }
    refused = await gql(BY_USER, {"id": world.id("User", "user_a")}, token=world.tokens["user_a"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # B's admin learns nothing of A's user
    other = (await gql(BY_USER, {"id": world.id("User", "user_a")}, token=world.tokens["admin_b"]))["data"]
    assert other["effectiveLocationAccess"] == {"totalCount": 0, "nodes": []}


async def test_user_group_grants_and_effective_access(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a"})
    crew = await add_group(runtime, world, "a", "Crew", ["user_a", "user_a1"])
    made = await access_set(
        gql, world, locationId=places.ids["Depot"], userIds=[world.id("User", "user_a")], userGroupIds=[crew]
    )
    assert made["errors"] == [] and made["location"]["userGroups"] == [{"name": "Crew"}]
    assert await location_names(gql, world.tokens["user_a1"]) == ["Depot"]
    # a location group adds a third reason for user_a
    async with runtime.session_factory() as session, session.begin():
        user_a, depot = world.users["user_a"].id, places.pks["Depot"]
        await add_location_group(session, world.organisations["a"].id, "North", locations=[depot], users=[user_a])
    admin = (await gql(EFFECTIVE, {"id": places.ids["Depot"]}, token=world.tokens["admin_a"]))["data"]["node"]
    assert admin["users"] == [{"email": "user@a.example"}] and admin["userGroups"] == [{"name": "Crew"}]
    assert admin["groups"] == [{"name": "North"}]
    assert admin["effectiveAccess"] == [
        {
            "user": {"email": "user@a.example"},
            "via": ["DIRECT", "USER_GROUP", "LOCATION_GROUP"],
            "userGroups": [{"name": "Crew"}],
            "locationGroups": [{"name": "North"}],
        },
        {
            "user": {"email": "user@a1.example"},
            "via": ["USER_GROUP"],
            "userGroups": [{"name": "Crew"}],
            "locationGroups": [],
        },
    ]
    # a plain user sees only their own part: no other users, no user groups
    own = (await gql(EFFECTIVE, {"id": places.ids["Depot"]}, token=world.tokens["user_a1"]))["data"]["node"]
    assert own == {
        "users": [],
        "userGroups": [],
        "groups": [],
        "effectiveAccess": [
            {
                "user": {"email": "user@a1.example"},
                "via": ["USER_GROUP"],
                "userGroups": [{"name": "Crew"}],
                "locationGroups": [],
            }
        ],
    }
    mine = (await gql(EFFECTIVE, {"id": places.ids["Depot"]}, token=world.tokens["user_a"]))["data"]["node"]
    assert mine["users"] == [{"email": "user@a.example"}] and mine["groups"] == [{"name": "North"}]
    assert [e["user"]["email"] for e in mine["effectiveAccess"]] == ["user@a.example"]
    await assert_user_a_reaches_the_depot_three_ways(gql, world)


async def test_refusals_change_nothing(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a", "Child depot": "a1", "B depot": "b"})
    group_b = await add_group(runtime, world, "b", "B crew", ["user_b"])
    group_a = await add_group(runtime, world, "a", "A crew", ["user_a"])
    await access_set(gql, world, locationId=places.ids["Depot"], userIds=[world.id("User", "user_a")])
    before = await snapshot(runtime)
    own = world.id("User", "user_a")
    for given, code, field in (
        ({"locationId": places.ids["B depot"], "userIds": []}, "NOT_FOUND", ["locationId"]),
        ({"locationId": to_global_id("Location", 999_999), "userIds": []}, "NOT_FOUND", ["locationId"]),
        (
            {"locationId": places.ids["Depot"], "userIds": [own, own, world.id("User", "user_b")]},
            "NOT_FOUND",
            ["userIds", "2"],
        ),
        (
            {"locationId": places.ids["Depot"], "userIds": [to_global_id("User", 999_999)]},
            "NOT_FOUND",
            ["userIds", "0"],
        ),
        ({"locationId": places.ids["Depot"], "userIds": ["nonsense"]}, "NOT_FOUND", ["userIds", "0"]),
        ({"locationId": places.ids["Depot"], "userGroupIds": [group_b]}, "NOT_FOUND", ["userGroupIds", "0"]),
        # A's user and group are A's, not of the child A1's subtree
        ({"locationId": places.ids["Child depot"], "userIds": [own]}, "WRONG_ORGANISATION", ["userIds", "0"]),
        (
            {"locationId": places.ids["Child depot"], "userGroupIds": [group_a]},
            "WRONG_ORGANISATION",
            ["userGroupIds", "0"],
        ),
        ({"locationId": places.ids["Depot"], "userIds": [own] * 501}, "TOO_MANY", ["userIds"]),
    ):
        payload = await access_set(gql, world, **given)
        assert payload["location"] is None and [(e["code"], e["field"]) for e in payload["errors"]] == [
            (code, field)
        ], given
        assert await snapshot(runtime) == before, given
    # a granted user without LOCATIONS_MANAGE reads the location but may not change its access
    refused = await gql(
        ACCESS_SET, {"input": {"locationId": places.ids["Depot"], "userIds": []}}, token=world.tokens["user_a"]
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # B's admin cannot touch A's location
    payload = await access_set(gql, world, token="admin_b", locationId=places.ids["Depot"], userIds=[])
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    assert await snapshot(runtime) == before
    # a user of the child's subtree is fine for the child's location
    assert (await access_set(gql, world, locationId=places.ids["Child depot"], userIds=[world.id("User", "user_a1")]))[
        "errors"
    ] == []


async def test_withdrawn_access_ends_connections(gql, world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a", "Harbour": "a"})
    crew = await add_group(runtime, world, "a", "Crew", ["user_a1"])
    await access_set(
        gql, world, locationId=places.ids["Depot"], userIds=[world.id("User", "user_a")], userGroupIds=[crew]
    )
    await access_set(gql, world, locationId=places.ids["Harbour"], userIds=[world.id("User", "user_a1")])
    lost = await connect(runtime, world, places, "user_a", "Depot")
    kept = await connect(runtime, world, places, "user_a1", "Depot")  # still a member of Crew
    admins = await connect(runtime, world, places, "admin_a", "Depot")  # a manager needs no grant
    async with router_events(runtime) as received:
        payload = await access_set(gql, world, locationId=places.ids["Depot"], userIds=[])
        assert payload["errors"] == []
        events = await wait_for(received, 1)
    ended = await connection_row(runtime, lost)
    assert ended.ended_at is not None and ended.end_reason == r.ConnectionEnd.ACCESS_REVOKED
    assert (await connection_row(runtime, kept)).ended_at is None and (
        await connection_row(runtime, admins)
    ).ended_at is None
    assert [(e["kind"], e["locationId"], e["connectionId"]) for e in events] == [
        ("DISCONNECTED", places.ids["Depot"], to_global_id("RemoteConnection", lost))
    ]
    assert events[0]["routerId"] == to_global_id("Router", places.routers["Depot"])
    # withdrawing the group ends user_a1's connection to Depot, not to Harbour (given directly)
    harbour = await connect(runtime, world, places, "user_a", "Harbour")  # user_a never had Harbour
    assert (await access_set(gql, world, locationId=places.ids["Depot"], userGroupIds=[]))["errors"] == []
    assert (await connection_row(runtime, kept)).end_reason == r.ConnectionEnd.ACCESS_REVOKED
    # only the users whose grants changed are looked at
    assert (await connection_row(runtime, harbour)).ended_at is None


async def test_end_unreachable_connections_directly(world, runtime):
    places = await add_locations(runtime, world, {"Depot": "a", "Harbour": "a"})
    async with runtime.session_factory() as session, session.begin():
        session.add(r.LocationUserAccess(location_id=places.pks["Harbour"], user_id=world.users["user_a"].id))
    reachable = await connect(runtime, world, places, "user_a", "Harbour")
    other = await connect(runtime, world, places, "user_a1", "Depot")
    async with runtime.session_factory() as session, session.begin():
        assert await end_unreachable_connections(session, []) == []
        assert await end_unreachable_connections(session, [world.users["user_a"].id]) == []
        events = await end_unreachable_connections(session, [world.users["user_a1"].id, world.users["user_b"].id])
        # queued to go out after the commit
        assert [event for _, event in session.info["events"]] == events
    assert [e["connectionId"] for e in events] == [to_global_id("RemoteConnection", other)]
    assert (await connection_row(runtime, reachable)).ended_at is None
    assert (await connection_row(runtime, other)).end_reason == r.ConnectionEnd.ACCESS_REVOKED
    # ended ones are history: nothing ends twice
    async with runtime.session_factory() as session, session.begin():
        assert await end_unreachable_connections(session, [world.users["user_a1"].id]) == []


async def test_leaving_a_user_group_ends_connections_it_gave(gql, world, runtime):
    """A user group gives locations too: a member taken out of it (or the group deleted) loses the connections
    only the group allowed."""
    from models import identity as m
    from tests.factories import add_user

    async with runtime.session_factory() as session, session.begin():
        world.users["fitter_a"] = await add_user(session, world.organisations["a"], "fitter@a.example", [m.Role.USER])
    places = await add_locations(runtime, world, {"Depot": "a", "Harbour": "a"})
    crew = await add_group(runtime, world, "a", "Crew", ["user_a", "fitter_a"])
    await access_set(gql, world, locationId=places.ids["Depot"], userGroupIds=[crew])
    await access_set(
        gql, world, locationId=places.ids["Harbour"], userGroupIds=[crew], userIds=[world.id("User", "fitter_a")]
    )
    leaving = await connect(runtime, world, places, "user_a", "Depot")
    staying = await connect(runtime, world, places, "fitter_a", "Harbour")  # also given directly
    update = """mutation($input: UserGroupUpdateInput!) { userGroupUpdate(input: $input) { errors { code } } }"""
    result = await gql(
        update, {"input": {"id": crew, "memberIds": [world.id("User", "fitter_a")]}}, token=world.tokens["admin_a"]
    )
    assert result["data"]["userGroupUpdate"]["errors"] == []
    assert (await connection_row(runtime, leaving)).end_reason == r.ConnectionEnd.ACCESS_REVOKED
    assert (await connection_row(runtime, staying)).ended_at is None
    delete = """mutation($input: UserGroupIdInput!) { userGroupDelete(input: $input) { errors { code } } }"""
    assert (await gql(delete, {"input": {"id": crew}}, token=world.tokens["admin_a"]))["data"]["userGroupDelete"][
        "errors"
    ] == []
    assert (await connection_row(runtime, staying)).ended_at is None  # Harbour stays given to the fitter directly


async def test_deactivation_and_a_lost_role_end_connections(gql, world, runtime):
    """A deactivated user reaches nothing; an admin made a plain user keeps only what was given to them."""
    from models import identity as m
    from tests.factories import add_user

    async with runtime.session_factory() as session, session.begin():
        world.users["boss_a"] = await add_user(
            session, world.organisations["a"], "boss@a.example", [m.Role.ORGANISATION_ADMIN]
        )
    places = await add_locations(runtime, world, {"Depot": "a", "Harbour": "a"})
    await access_set(
        gql, world, locationId=places.ids["Harbour"], userIds=[world.id("User", "user_a"), world.id("User", "boss_a")]
    )
    granted = await connect(runtime, world, places, "user_a", "Harbour")
    managed = await connect(runtime, world, places, "boss_a", "Depot")  # no grant: reached as a manager
    demote = """mutation($input: UserUpdateInput!) { userUpdate(input: $input) { errors { code } } }"""
    result = await gql(
        demote, {"input": {"id": world.id("User", "boss_a"), "roles": ["USER"]}}, token=world.tokens["admin_a"]
    )
    assert result["data"]["userUpdate"]["errors"] == []
    assert (await connection_row(runtime, managed)).end_reason == r.ConnectionEnd.ACCESS_REVOKED
    assert (await connection_row(runtime, granted)).ended_at is None
    deactivate = """mutation($input: UserIdInput!) { userDeactivate(input: $input) { errors { code } } }"""
    result = await gql(deactivate, {"input": {"id": world.id("User", "user_a")}}, token=world.tokens["admin_a"])
    assert result["data"]["userDeactivate"]["errors"] == []
    assert (await connection_row(runtime, granted)).end_reason == r.ConnectionEnd.ACCESS_REVOKED
