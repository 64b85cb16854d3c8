"""effectiveAccess(locationId): everyone who reaches a location, managers included, with every reason; it agrees
with the access rules (resolvers.remote.scope) for every user of the fixture, in a bounded number of statements."""

from __future__ import annotations

from graph.relay import to_global_id
from models import identity as m
from models import remote as r
from tests.factories import (
    add_external_user,
    add_location,
    add_location_group,
    add_organisation,
    add_user,
    add_user_group,
    issue_token,
)

EFFECTIVE = """query($id: ID!, $first: Int) { effectiveAccess(locationId: $id, first: $first) {
  totalCount nodes { user { email } via userGroups { name } locationGroups { name } } } }"""
SEES = """query($id: ID!) { node(id: $id) { id } }"""


async def seed(runtime, world) -> tuple[str, dict[str, str]]:
    """A location of A1 reached every way; the tokens of everyone (the world's users and the new ones)."""
    a, a1 = world.organisations["a"], world.organisations["a1"]
    async with runtime.session_factory() as session, session.begin():
        site = await add_location(session, a1.id, "Site A1")
        other = await add_location(session, a1.id, "Other A1")
        users = {
            "admin_a1": await add_user(session, a1, "admin@a1.example", [m.Role.ORGANISATION_ADMIN]),
            "granted_manager": await add_user(session, a1, "perm@a1.example", [m.Role.USER]),
            "member": await add_user(session, a1, "member@a1.example", [m.Role.USER]),
            "grouped": await add_user(session, a1, "grouped@a1.example", [m.Role.USER]),
            "elsewhere": await add_user(session, a1, "elsewhere@a1.example", [m.Role.USER]),
            "inactive": await add_user(session, a1, "gone@a1.example", [m.Role.USER], is_active=False),
        }
        sibling = await add_organisation(session, "Tenant A2", a)
        users["sibling_admin"] = await add_user(session, sibling, "admin@a2.example", [m.Role.ORGANISATION_ADMIN])
        session.add(m.UserPermission(user_id=users["granted_manager"].id, permission=m.Permission.LOCATIONS_MANAGE))
        session.add_all(
            [
                r.LocationUserAccess(location_id=site.id, user_id=world.users["user_a1"].id),
                r.LocationUserAccess(location_id=site.id, user_id=users["inactive"].id),
                r.LocationUserAccess(location_id=other.id, user_id=users["elsewhere"].id),
                r.LocationUserAccess(location_id=site.id, user_id=world.users["user_b"].id),
            ]
        )
        await add_external_user(session, a1.id, world.users["user_b"])
        group = await add_user_group(
            session, a1.id, "Operators", members=[users["member"].id, world.users["user_a1"].id]
        )
        session.add(r.LocationUserGroupAccess(location_id=site.id, user_group_id=group.id))
        await add_location_group(session, a1.id, "Sites", locations=[site.id], users=[users["grouped"].id])
        tokens = dict(world.tokens)
        for key, user in users.items():
            tokens[key] = await issue_token(session, user)
    return to_global_id("Location", site.id), tokens


async def entries(gql, token: str, location_id: str) -> dict[str, dict]:
    result = await gql(EFFECTIVE, {"id": location_id, "first": 50}, token=token)
    assert "errors" not in result, result
    return {node["user"]["email"]: node for node in result["data"]["effectiveAccess"]["nodes"]}


async def test_everyone_who_reaches_the_location_with_every_reason(gql, runtime, world):
    site, _ = await seed(runtime, world)
    found = await entries(gql, world.tokens["admin_a"], site)
    assert {email: node["via"] for email, node in found.items()} == {
        "admin@a.example": ["MANAGER"],  # of the parent organisation
        "admin@a1.example": ["MANAGER"],
        "perm@a1.example": ["MANAGER"],  # LOCATIONS_MANAGE granted on its own
        "user@a1.example": ["DIRECT", "USER_GROUP"],
        "member@a1.example": ["USER_GROUP"],
        "grouped@a1.example": ["LOCATION_GROUP"],
        "user@b.example": ["DIRECT", "EXTERNAL"],
    }
    assert found["user@a1.example"]["userGroups"] == [{"name": "Operators"}]
    assert found["grouped@a1.example"]["locationGroups"] == [{"name": "Sites"}]
    # by name
    result = await gql(EFFECTIVE, {"id": site, "first": 50}, token=world.tokens["admin_a"])
    names = [node["user"]["email"] for node in result["data"]["effectiveAccess"]["nodes"]]
    assert len(names) == 7 and result["data"]["effectiveAccess"]["totalCount"] == 7


async def test_listed_exactly_when_the_user_can_see_the_location(gql, runtime, world):
    """For every user of the fixture (but the platform admin, who sees every tenant and is not listed): in
    effectiveAccess if and only if the location reads for them."""
    site, tokens = await seed(runtime, world)
    listed = set(await entries(gql, world.tokens["admin_a"], site))
    seeing = set()
    for key, token in tokens.items():
        if key == "platform":
            continue
        result = await gql(SEES, {"id": site}, token=token)
        if (result.get("data") or {}).get("node") is not None:
            seeing.add((await gql("query { me { email } }", token=token))["data"]["me"]["email"])
    assert seeing == listed and len(seeing) == 7
    assert {
        "user@a.example",
        "elsewhere@a1.example",
        "admin@a2.example",
        "admin@b.example",
        "gone@a1.example",
    }.isdisjoint(listed)


async def test_only_managers_of_the_location_see_it(gql, runtime, world):
    site, tokens = await seed(runtime, world)
    # another tenant's location, and a sibling's, list nobody (like an unknown one)
    for key in ("admin_b", "sibling_admin"):
        result = await gql(EFFECTIVE, {"id": site}, token=tokens[key])
        assert result["data"]["effectiveAccess"]["totalCount"] == 0
    refused = await gql(EFFECTIVE, {"id": site}, token=tokens["user_a1"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_statement_count_does_not_grow_with_the_entries(gql, runtime, world, count_sql):
    site, _ = await seed(runtime, world)
    with count_sql() as few:
        await entries(gql, world.tokens["admin_a"], site)
    async with runtime.session_factory() as session, session.begin():
        organisation = await session.get(m.Organisation, world.organisations["a1"].id)
        for n in range(10):
            user = await add_user(session, organisation, f"more{n}@a1.example", [m.Role.USER])
            session.add(r.LocationUserAccess(location_id=int(_pk(site)), user_id=user.id))
    with count_sql() as many:
        found = await entries(gql, world.tokens["admin_a"], site)
    assert len(found) == 17
    # token, page, count, reasons, organisations, user groups, location groups
    assert many.count == few.count <= 7, many.statements


def _pk(global_id: str) -> int:
    from graph.relay import from_global_id

    return from_global_id(global_id)[1]
