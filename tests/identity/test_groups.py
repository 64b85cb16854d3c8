"""User groups: named sets of users of one organisation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from graph.relay import to_global_id
from models import identity as m

ERRORS = "errors { code field message }"
GROUP = "id name organisation { name } members { email }"
CREATE = (
    f"mutation($input: UserGroupCreateInput!) {{ userGroupCreate(input: $input) {{ userGroup {{ "
    f"{GROUP} }} {ERRORS} }} }}"
)
UPDATE = (
    f"mutation($input: UserGroupUpdateInput!) {{ userGroupUpdate(input: $input) {{ userGroup {{ "
    f"{GROUP} }} {ERRORS} }} }}"
)
DELETE = f"mutation($input: UserGroupIdInput!) {{ userGroupDelete(input: $input) {{ deletedId {ERRORS} }} }}"
LIST = (
    "query($filter: UserGroupFilter) { userGroups(filter: $filter) { totalCount nodes { name "
    "organisation { name } } } }"
)


def codes(result: dict) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


def payload_errors(result: dict, field: str) -> list[tuple[str, list[str] | None]]:
    return [(error["code"], error["field"]) for error in result["data"][field]["errors"]]


async def group_rows(runtime) -> tuple[list[tuple], list[tuple]]:
    async with runtime.session_factory() as session:
        groups = (
            await session.execute(
                select(m.UserGroup.id, m.UserGroup.organisation_id, m.UserGroup.name).order_by(m.UserGroup.id)
            )
        ).all()
        members = (
            await session.execute(
                select(m.UserGroupMember.group_id, m.UserGroupMember.user_id).order_by(
                    m.UserGroupMember.group_id, m.UserGroupMember.user_id
                )
            )
        ).all()
    return [tuple(g) for g in groups], [tuple(x) for x in members]


async def create(gql, world, name: str, members: list[str], token_key: str = "admin_a", **extra) -> dict:
    variables = {"input": {"name": name, "memberIds": [world.id("User", key) for key in members], **extra}}
    return await gql(CREATE, variables, token=world.tokens[token_key])


async def test_create_with_members(gql, world, runtime):
    result = await create(gql, world, " Field engineers ", ["user_a", "admin_a", "user_a"])
    payload = result["data"]["userGroupCreate"]
    assert payload["errors"] == []
    group = payload["userGroup"]
    assert {k: v for k, v in group.items() if k != "id"} == {
        "name": "Field engineers",
        "organisation": {"name": "Tenant A"},
        "members": [{"email": "admin@a.example"}, {"email": "user@a.example"}],  # by name, duplicates once
    }
    groups, members = await group_rows(runtime)
    assert group["id"] == to_global_id("UserGroup", groups[0][0])
    assert groups == [(groups[0][0], world.organisations["a"].id, "Field engineers")]
    assert sorted(uid for _, uid in members) == sorted([world.users["admin_a"].id, world.users["user_a"].id])
    # the membership shows on the user, too
    me = await gql("{ me { groups { name } } }", token=world.tokens["user_a"])
    assert me["data"]["me"]["groups"] == [{"name": "Field engineers"}]


async def test_create_in_a_child_organisation(gql, world):
    result = await create(gql, world, "A1 crew", ["user_a1"], organisationId=world.id("Organisation", "a1"))
    assert result["data"]["userGroupCreate"]["userGroup"]["organisation"] == {"name": "Tenant A1"}
    assert result["data"]["userGroupCreate"]["userGroup"]["members"] == [{"email": "user@a1.example"}]


@pytest.mark.parametrize(
    "members, extra, code, field",
    [
        # members must belong to the group's organisation: not a child's, not another tenant's
        (["user_a", "user_a1"], {}, "NOT_FOUND", ["memberIds", "1"]),
        (["user_b"], {}, "NOT_FOUND", ["memberIds", "0"]),
        (["user_a", "user_a", "user_b"], {}, "NOT_FOUND", ["memberIds", "2"]),  # the index as given, duplicates counted
        (["user_a"], {"organisationId": "a1"}, "NOT_FOUND", ["memberIds", "0"]),
        ([], {"organisationId": "b"}, "NOT_FOUND", ["organisationId"]),
    ],
)
async def test_create_refuses_members_outside_the_organisation(gql, world, runtime, members, extra, code, field):
    if "organisationId" in extra:
        extra = {"organisationId": world.id("Organisation", extra["organisationId"])}
    before = await group_rows(runtime)
    result = await create(gql, world, "Mixed", members, **extra)
    assert payload_errors(result, "userGroupCreate") == [(code, field)]
    assert result["data"]["userGroupCreate"]["userGroup"] is None
    assert await group_rows(runtime) == before


@pytest.mark.parametrize("member_id", ["!!!", to_global_id("Organisation", 1), to_global_id("User", 999999)])
async def test_create_refuses_malformed_member_ids(gql, world, runtime, member_id):
    before = await group_rows(runtime)
    result = await gql(CREATE, {"input": {"name": "G", "memberIds": [member_id]}}, token=world.tokens["admin_a"])
    assert payload_errors(result, "userGroupCreate") == [("NOT_FOUND", ["memberIds", "0"])]
    assert await group_rows(runtime) == before


@pytest.mark.parametrize("name, code", [("", "REQUIRED"), ("   ", "REQUIRED"), ("g" * 201, "TOO_LONG")])
async def test_create_refuses_bad_names(gql, world, runtime, name, code):
    before = await group_rows(runtime)
    result = await create(gql, world, name, ["user_a"])
    assert payload_errors(result, "userGroupCreate") == [(code, ["name"])]
    assert await group_rows(runtime) == before


async def test_duplicate_name_refused_within_an_organisation_only(gql, world, runtime):
    assert (await create(gql, world, "Night shift", []))["data"]["userGroupCreate"]["errors"] == []
    before = await group_rows(runtime)
    again = await create(gql, world, " Night shift ", ["user_a"])
    assert payload_errors(again, "userGroupCreate") == [("DUPLICATE", ["name"])]
    assert await group_rows(runtime) == before
    # the same name in another organisation is fine
    other = await create(gql, world, "Night shift", [], token_key="admin_b")
    assert other["data"]["userGroupCreate"]["errors"] == []
    child = await create(gql, world, "Night shift", [], organisationId=world.id("Organisation", "a1"))
    assert child["data"]["userGroupCreate"]["errors"] == []


async def test_update_name_and_members(gql, world, runtime):
    group = (await create(gql, world, "Crew", ["user_a"]))["data"]["userGroupCreate"]["userGroup"]
    result = await gql(UPDATE, {"input": {"id": group["id"], "name": "Crew 2"}}, token=world.tokens["admin_a"])
    assert result["data"]["userGroupUpdate"]["userGroup"]["name"] == "Crew 2"
    assert result["data"]["userGroupUpdate"]["userGroup"]["members"] == [{"email": "user@a.example"}]  # untouched
    result = await gql(
        UPDATE,
        {"input": {"id": group["id"], "memberIds": [world.id("User", "admin_a")]}},
        token=world.tokens["admin_a"],
    )
    assert result["data"]["userGroupUpdate"]["userGroup"] == {
        **group,
        "name": "Crew 2",
        "members": [{"email": "admin@a.example"}],
    }
    result = await gql(UPDATE, {"input": {"id": group["id"], "memberIds": []}}, token=world.tokens["admin_a"])
    assert result["data"]["userGroupUpdate"]["userGroup"]["members"] == []
    assert (await group_rows(runtime))[1] == []


async def test_update_refusals_change_nothing(gql, world, runtime):
    group = (await create(gql, world, "Crew", ["user_a"]))["data"]["userGroupCreate"]["userGroup"]
    await create(gql, world, "Other", [])
    before = await group_rows(runtime)
    cases = [
        ({"name": "Other"}, "DUPLICATE", ["name"]),
        ({"name": ""}, "REQUIRED", ["name"]),
        ({"name": "x" * 201}, "TOO_LONG", ["name"]),
        # a valid rename rides along with a bad member: neither is written
        (
            {"name": "Renamed", "memberIds": [world.id("User", "admin_a"), world.id("User", "user_b")]},
            "NOT_FOUND",
            ["memberIds", "1"],
        ),
    ]
    for change, code, field in cases:
        result = await gql(UPDATE, {"input": {"id": group["id"], **change}}, token=world.tokens["admin_a"])
        assert payload_errors(result, "userGroupUpdate") == [(code, field)], change
        assert await group_rows(runtime) == before
    # keeping its own name is not a duplicate
    result = await gql(UPDATE, {"input": {"id": group["id"], "name": "Crew"}}, token=world.tokens["admin_a"])
    assert result["data"]["userGroupUpdate"]["errors"] == []


async def test_delete(gql, world, runtime):
    group = (await create(gql, world, "Crew", ["user_a", "admin_a"]))["data"]["userGroupCreate"]["userGroup"]
    keep = (await create(gql, world, "Keep", ["user_a"]))["data"]["userGroupCreate"]["userGroup"]
    result = await gql(DELETE, {"input": {"id": group["id"]}}, token=world.tokens["admin_a"])
    assert result["data"]["userGroupDelete"] == {"deletedId": group["id"], "errors": []}
    groups, members = await group_rows(runtime)
    assert [g[2] for g in groups] == ["Keep"]
    assert members == [(groups[0][0], world.users["user_a"].id)]  # the deleted group's memberships went with it
    node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": group["id"]}, token=world.tokens["admin_a"])
    assert node["data"]["node"] is None
    again = await gql(DELETE, {"input": {"id": group["id"]}}, token=world.tokens["admin_a"])
    assert payload_errors(again, "userGroupDelete") == [("NOT_FOUND", ["id"])]
    assert keep["id"] != group["id"]


async def test_deleting_a_user_removes_their_memberships(gql, world, runtime):
    group = (await create(gql, world, "Crew", ["user_a", "admin_a"]))["data"]["userGroupCreate"]["userGroup"]
    await gql(
        "mutation($input: UserIdInput!) { userDelete(input: $input) { errors { code } } }",
        {"input": {"id": world.id("User", "user_a")}},
        token=world.tokens["admin_a"],
    )
    result = await gql(
        "query($id: ID!) { node(id: $id) { ... on UserGroup { members { email } } } }",
        {"id": group["id"]},
        token=world.tokens["admin_a"],
    )
    assert result["data"]["node"]["members"] == [{"email": "admin@a.example"}]


async def test_list_with_filters_and_tenancy(gql, world):
    for name in ("Alpha team", "Beta team", "Gamma"):
        await create(gql, world, name, [])
    await create(gql, world, "A1 team", [], organisationId=world.id("Organisation", "a1"))
    await create(gql, world, "B team", [], token_key="admin_b")

    async def listed(token_key="admin_a", **filter_):
        result = await gql(LIST, {"filter": filter_ or None}, token=world.tokens[token_key])
        assert "errors" not in result, result
        return [n["name"] for n in result["data"]["userGroups"]["nodes"]], result["data"]["userGroups"]["totalCount"]

    assert await listed() == (["A1 team", "Alpha team", "Beta team", "Gamma"], 4)
    assert await listed(name="TEAM") == (["A1 team", "Alpha team", "Beta team"], 3)
    assert await listed(organisationId=world.id("Organisation", "a1")) == (["A1 team"], 1)
    assert await listed(organisationId=world.id("Organisation", "a")) == (["Alpha team", "Beta team", "Gamma"], 3)
    assert await listed(organisationId=world.id("Organisation", "b")) == ([], 0)
    assert await listed("admin_b") == (["B team"], 1)
    assert await listed("user_a1") == (["A1 team"], 1)  # a plain user may read the groups of what they see


async def test_plain_user_cannot_manage_groups(gql, world, runtime):
    group = (await create(gql, world, "Crew", ["user_a"]))["data"]["userGroupCreate"]["userGroup"]
    before = await group_rows(runtime)
    token = world.tokens["user_a"]
    assert codes(await create(gql, world, "Mine", ["user_a"], token_key="user_a")) == ["FORBIDDEN"]
    assert codes(await gql(UPDATE, {"input": {"id": group["id"], "name": "Mine"}}, token=token)) == ["FORBIDDEN"]
    assert codes(await gql(DELETE, {"input": {"id": group["id"]}}, token=token)) == ["FORBIDDEN"]
    assert codes(await gql(DELETE, {"input": {"id": group["id"]}})) == ["UNAUTHENTICATED"]
    assert await group_rows(runtime) == before
