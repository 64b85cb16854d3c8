"""Configuration groups (the manual, §8): create, rename, delete, list; the routers tab (add, remove, list);
a router is in at most one group, also when several admins add it at the same moment."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from graph.relay import to_global_id
from models import remote as r
from models.audit import AuditEvent
from tests.factories import add_router, snapshot
from tests.remote.helpers import ASSIGN

GROUP = "configurationGroup { id name organisation { name } }"
ERRORS = "errors { code field message }"
CREATE = f"""mutation($input: ConfigurationGroupCreateInput!) {{
  configurationGroupCreate(input: $input) {{ {GROUP} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: ConfigurationGroupUpdateInput!) {{
  configurationGroupUpdate(input: $input) {{ {GROUP} {ERRORS} }} }}"""
DELETE = f"""mutation($input: ConfigurationGroupDeleteInput!) {{
  configurationGroupDelete(input: $input) {{ deletedId {ERRORS} }} }}"""
ADD = f"""mutation($input: ConfigurationGroupRouterInput!) {{
  configurationGroupAddRouter(input: $input) {{ {GROUP} {ERRORS} }} }}"""
REMOVE = f"""mutation($input: ConfigurationGroupRouterInput!) {{
  configurationGroupRemoveRouter(input: $input) {{ {GROUP} {ERRORS} }} }}"""
GROUPS = """query($filter: ConfigurationGroupFilter, $first: Int) {
  configurationGroups(filter: $filter, first: $first) {
  totalCount nodes { name organisation { name } } } }"""
ROUTERS = """query($id: ID!, $first: Int, $after: String) {
  configurationGroupRouters(configurationGroupId: $id, first: $first, after: $after) {
    totalCount nodes { commonName organisation { name } } pageInfo { hasNextPage endCursor } } }"""


async def routers(runtime, world, count: int = 3, organisation: str = "a", prefix: str = "R_A") -> list[str]:
    async with runtime.session_factory() as session, session.begin():
        made = [
            await add_router(
                session,
                world.organisations[organisation].id,
                f"{prefix}{n:03d}",
                f"00:00:00:{sum(prefix.encode()) % 256:02X}:{n // 256:02X}:{n % 256:02X}",
                f"SN-{prefix}-{n}",
            )
            for n in range(count)
        ]
    return [to_global_id("Router", router.id) for router in made]


async def call(gql, world, document: str, root: str, token: str = "admin_a", **given) -> dict:
    result = await gql(document, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"][root]


async def group(gql, world, name: str, token: str = "admin_a", **given) -> str:
    made = await call(gql, world, CREATE, "configurationGroupCreate", token, name=name, **given)
    assert made["errors"] == [], made
    return made["configurationGroup"]["id"]


async def refused(gql, world, runtime, document: str, root: str, token: str = "admin_a", **given):
    before = await snapshot(runtime)
    payload = await call(gql, world, document, root, token, **given)
    assert await snapshot(runtime) == before
    assert all(value is None for key, value in payload.items() if key != "errors")
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def group_routers(gql, world, group_id: str, token: str = "admin_a") -> list[str]:
    listed = (await gql(ROUTERS, {"id": group_id, "first": 100}, token=world.tokens[token]))["data"]
    return [n["commonName"] for n in listed["configurationGroupRouters"]["nodes"]]


async def test_groups_are_created_renamed_listed_and_deleted(gql, world, runtime):
    west = await group(gql, world, " West ")
    await group(gql, world, "East", organisationId=world.id("Organisation", "a1"))
    await group(gql, world, "B's", token="admin_b")
    listed = (await gql(GROUPS, token=world.tokens["admin_a"]))["data"]["configurationGroups"]
    assert [(n["name"], n["organisation"]["name"]) for n in listed["nodes"]] == [
        ("East", "Tenant A1"),
        ("West", "Tenant A"),
    ]
    of_child = await gql(
        GROUPS, {"filter": {"organisationId": world.id("Organisation", "a1")}}, token=world.tokens["admin_a"]
    )
    assert of_child["data"]["configurationGroups"]["totalCount"] == 1
    by_name = await gql(GROUPS, {"filter": {"nameContains": "WES"}}, token=world.tokens["admin_a"])
    assert [n["name"] for n in by_name["data"]["configurationGroups"]["nodes"]] == ["West"]
    assert (await gql(GROUPS, token=world.tokens["user_a"]))["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    renamed = await call(gql, world, UPDATE, "configurationGroupUpdate", id=west, name="North-west")
    assert renamed["configurationGroup"]["name"] == "North-west"
    assert await refused(gql, world, runtime, CREATE, "configurationGroupCreate", name="North-west") == [
        ("DUPLICATE", ["name"])
    ]
    assert await refused(gql, world, runtime, CREATE, "configurationGroupCreate", name="  ") == [("REQUIRED", ["name"])]
    assert await refused(gql, world, runtime, CREATE, "configurationGroupCreate", name="x" * 201) == [
        ("TOO_LONG", ["name"])
    ]
    assert await refused(
        gql, world, runtime, UPDATE, "configurationGroupUpdate", token="admin_b", id=west, name="Z"
    ) == [("NOT_FOUND", ["id"])]

    [router] = await routers(runtime, world, 1)
    assert (await call(gql, world, ADD, "configurationGroupAddRouter", configurationGroupId=west, routerId=router))[
        "errors"
    ] == []
    assert await refused(gql, world, runtime, DELETE, "configurationGroupDelete", token="admin_b", id=west) == [
        ("NOT_FOUND", ["id"])
    ]
    assert (await call(gql, world, DELETE, "configurationGroupDelete", id=west)) == {"deletedId": west, "errors": []}
    async with runtime.session_factory() as session:
        # the router stays, in no group
        assert (await session.scalars(select(r.Router.configuration_group_id))).all() == [None]
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert [a for a in actions if a.startswith("configuration_group.")] == [
        "configuration_group.created",
        "configuration_group.created",
        "configuration_group.created",
        "configuration_group.updated",
        "configuration_group.router_added",
        "configuration_group.deleted",
    ]


async def test_the_routers_tab_adds_lists_and_removes(gql, world, runtime):
    west, east = await group(gql, world, "West"), await group(gql, world, "East")
    one, two, three = await routers(runtime, world, 3)
    [child_router] = await routers(runtime, world, 1, organisation="a1", prefix="R_C")
    [b_router] = await routers(runtime, world, 1, organisation="b", prefix="R_B")
    for router in (two, one):
        added = await call(gql, world, ADD, "configurationGroupAddRouter", configurationGroupId=west, routerId=router)
        assert added["errors"] == [] and added["configurationGroup"]["name"] == "West"
    assert await group_routers(gql, world, west) == ["R_A000", "R_A001"]
    # in this group already: nothing changes, nothing refused
    again = await call(gql, world, ADD, "configurationGroupAddRouter", configurationGroupId=west, routerId=one)
    assert again["errors"] == []
    # a router is in at most one group
    add = ("configurationGroupAddRouter", ADD)
    for given, expected in (
        ({"configurationGroupId": east, "routerId": one}, ("ROUTER_IN_OTHER_GROUP", ["routerId"])),
        ({"configurationGroupId": east, "routerId": b_router}, ("NOT_FOUND", ["routerId"])),
        ({"configurationGroupId": east, "routerId": child_router}, ("WRONG_ORGANISATION", ["routerId"])),
        ({"configurationGroupId": east, "routerId": west}, ("NOT_FOUND", ["routerId"])),
        ({"configurationGroupId": one, "routerId": three}, ("NOT_FOUND", ["configurationGroupId"])),
    ):
        assert await refused(gql, world, runtime, ADD, add[0], **given) == [expected], given
    assert await refused(
        gql, world, runtime, ADD, add[0], token="admin_b", configurationGroupId=west, routerId=three
    ) == [("NOT_FOUND", ["configurationGroupId"])]
    assert await refused(
        gql, world, runtime, REMOVE, "configurationGroupRemoveRouter", configurationGroupId=east, routerId=one
    ) == [("ROUTER_NOT_IN_GROUP", ["routerId"])]

    removed = await call(gql, world, REMOVE, "configurationGroupRemoveRouter", configurationGroupId=west, routerId=one)
    assert removed["errors"] == []
    assert await group_routers(gql, world, west) == ["R_A001"]
    moved = await call(gql, world, ADD, "configurationGroupAddRouter", configurationGroupId=east, routerId=one)
    assert moved["errors"] == [] and await group_routers(gql, world, east) == ["R_A000"]
    # another tenant's group lists like an unknown one
    assert await group_routers(gql, world, east, token="admin_b") == []


async def test_a_router_shows_its_group_and_leaves_it_with_its_organisation(gql, world, runtime):
    east = await group(gql, world, "East")
    one, three = await routers(runtime, world, 2)
    assert (await call(gql, world, ADD, "configurationGroupAddRouter", configurationGroupId=east, routerId=one))[
        "errors"
    ] == []
    # a router shows its group (to those who manage groups)
    shown = "query($id: ID!) { node(id: $id) { ... on Router { configurationGroup { name } } } }"
    assert (await gql(shown, {"id": one}, token=world.tokens["admin_a"]))["data"]["node"] == {
        "configurationGroup": {"name": "East"}
    }
    assert (await gql(shown, {"id": three}, token=world.tokens["admin_a"]))["data"]["node"] == {
        "configurationGroup": None
    }
    # a router assigned to another organisation leaves its group (a group holds its organisation's routers)
    assigned = await gql(
        ASSIGN,
        {"input": {"routerId": one, "organisationId": world.id("Organisation", "b")}},
        token=world.tokens["platform"],
    )
    assert assigned["data"]["routerAssign"]["errors"] == []
    assert await group_routers(gql, world, east) == []


async def test_parallel_adds_of_one_router_to_different_groups_have_one_winner(gql, world, runtime):
    groups = [await group(gql, world, f"Group {n}") for n in range(8)]
    [router] = await routers(runtime, world, 1)
    for round_ in range(2):
        answers = await asyncio.gather(
            *(
                call(gql, world, ADD, "configurationGroupAddRouter", configurationGroupId=g, routerId=router)
                for g in groups
            )
        )
        outcomes = sorted(tuple(e["code"] for e in answer["errors"]) for answer in answers)
        assert outcomes == [()] + [("ROUTER_IN_OTHER_GROUP",)] * 7, (round_, answers)
        winner = next(g for g, answer in zip(groups, answers, strict=True) if answer["errors"] == [])
        async with runtime.session_factory() as session:
            in_group = await session.scalar(select(r.Router.configuration_group_id))
            added = (
                await session.scalars(
                    select(AuditEvent.id).where(AuditEvent.action == "configuration_group.router_added")
                )
            ).all()
        assert to_global_id("ConfigurationGroup", in_group) == winner
        assert len(added) == round_ + 1
        assert [await group_routers(gql, world, g) for g in groups].count(["R_A000"]) == 1
        removed = await call(
            gql, world, REMOVE, "configurationGroupRemoveRouter", configurationGroupId=winner, routerId=router
        )
        assert removed["errors"] == []


async def test_the_router_list_pages_in_a_fixed_number_of_statements(gql, world, runtime, count_sql):
    counts = []
    for size, prefix in ((3, "R_S"), (30, "R_L")):
        target = await group(gql, world, f"Group {size}")
        for router in await routers(runtime, world, size, prefix=prefix):
            added = await call(
                gql, world, ADD, "configurationGroupAddRouter", configurationGroupId=target, routerId=router
            )
            assert added["errors"] == []
        with count_sql() as counter:
            listed = await gql(ROUTERS, {"id": target, "first": 50}, token=world.tokens["admin_a"])
        page = listed["data"]["configurationGroupRouters"]
        assert page["totalCount"] == len(page["nodes"]) == size
        assert {n["organisation"]["name"] for n in page["nodes"]} == {"Tenant A"}
        counts.append(counter.count)
    # authentication 1 + page 1 + totalCount 1 (the routers' organisation is the caller's own, loaded with the
    # authentication)
    assert counts == [3, 3]
    first = (await gql(ROUTERS, {"id": target, "first": 20}, token=world.tokens["admin_a"]))["data"]
    cursor = first["configurationGroupRouters"]["pageInfo"]["endCursor"]
    rest = (await gql(ROUTERS, {"id": target, "first": 20, "after": cursor}, token=world.tokens["admin_a"]))["data"]
    names = [n["commonName"] for n in first["configurationGroupRouters"]["nodes"]] + [
        n["commonName"] for n in rest["configurationGroupRouters"]["nodes"]
    ]
    assert names == [f"R_L{n:03d}" for n in range(30)]


async def test_the_group_list_runs_in_a_fixed_number_of_statements(gql, world, runtime, count_sql):
    counts = []
    for size in (3, 30):
        for i in range(size):
            await group(
                gql, world, f"Group {size}-{i:02d}", organisationId=world.id("Organisation", "a1" if i % 2 else "a")
            )
        with count_sql() as counter:
            result = await gql(
                GROUPS, {"filter": {"nameContains": f"Group {size}-"}, "first": 50}, token=world.tokens["admin_a"]
            )
        listed = result["data"]["configurationGroups"]
        assert listed["totalCount"] == len(listed["nodes"]) == size
        assert {n["organisation"]["name"] for n in listed["nodes"]} == {"Tenant A", "Tenant A1"}
        counts.append(counter.count)
    # authentication 1 + page 1 + totalCount 1 + organisations 1
    assert counts == [4, 4]
