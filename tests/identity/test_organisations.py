"""Organisations (a tree), creating and editing within your subtree, and partners linked by organisation ID."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from graph.relay import to_global_id
from models import identity as m
from tests.factories import add_user, issue_token

ERRORS = "errors { code field message }"
ORGANISATION = "id name organisationId yourReference canCreateOrganisations parent { name }"
CREATE = (
    f"mutation($input: OrganisationCreateInput!) {{ organisationCreate(input: $input) {{ organisation "
    f"{{ {ORGANISATION} }} {ERRORS} }} }}"
)
UPDATE = (
    f"mutation($input: OrganisationUpdateInput!) {{ organisationUpdate(input: $input) {{ organisation "
    f"{{ {ORGANISATION} }} {ERRORS} }} }}"
)
PARTNER_ADD = (
    f"mutation($input: PartnerInput!) {{ partnerAdd(input: $input) {{ organisation {{ name partners "
    f"{{ name organisationId }} }} {ERRORS} }} }}"
)
PARTNER_REMOVE = (
    f"mutation($input: PartnerInput!) {{ partnerRemove(input: $input) {{ organisation {{ name "
    f"partners {{ name organisationId }} }} {ERRORS} }} }}"
)
LIST = (
    "query($filter: OrganisationFilter) { organisations(filter: $filter) { totalCount nodes { name "
    "parent { name } } } }"
)
NODE = "query($id: ID!) { node(id: $id) { id } }"


def codes(result: dict) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


def payload_errors(result: dict, field: str) -> list[tuple[str, list[str] | None]]:
    return [(error["code"], error["field"]) for error in result["data"][field]["errors"]]


async def organisation_rows(runtime) -> list[tuple]:
    """Every stored column of every organisation and partner link, to prove that nothing changed."""
    async with runtime.session_factory() as session:
        organisations = (await session.scalars(select(m.Organisation).order_by(m.Organisation.id))).all()
        links = (await session.execute(select(m.PartnerLink.organisation_id, m.PartnerLink.partner_id))).all()
    columns = [c.key for c in m.Organisation.__table__.columns]
    return [tuple(getattr(o, c) for c in columns) for o in organisations] + [tuple(link) for link in links]


async def organisation(runtime, pk: int) -> m.Organisation:
    async with runtime.session_factory() as session:
        return await session.get(m.Organisation, pk)


async def names(gql, token, **variables) -> list[str]:
    result = await gql(LIST, variables, token=token)
    assert "errors" not in result, result
    return [node["name"] for node in result["data"]["organisations"]["nodes"]]


# --- the tree ----------------------------------------------------------------------------------------


async def test_tree_and_visibility(gql, world):
    result = await gql(LIST, {}, token=world.tokens["admin_a"])
    assert result["data"]["organisations"] == {
        "totalCount": 2,
        "nodes": [
            {"name": "Tenant A", "parent": None},
            {"name": "Tenant A1", "parent": {"name": "Tenant A"}},
        ],
    }
    # a user of the child sees the child only, and its parent reads as null (the top of what they see)
    result = await gql(LIST, {}, token=world.tokens["user_a1"])
    assert result["data"]["organisations"]["nodes"] == [{"name": "Tenant A1", "parent": None}]
    assert await names(gql, world.tokens["admin_b"]) == ["Tenant B"]
    assert await names(gql, world.tokens["platform"]) == ["Platform", "Tenant A", "Tenant A1", "Tenant B"]
    assert await names(gql, world.tokens["admin_a"], filter={"parentId": world.id("Organisation", "a")}) == [
        "Tenant A1"
    ]
    assert await names(gql, world.tokens["admin_a"], filter={"name": "a1"}) == ["Tenant A1"]


async def test_parent_of_a_node(gql, world):
    query = "query($id: ID!) { node(id: $id) { ... on Organisation { name parent { name parent { name } } } } }"
    result = await gql(query, {"id": world.id("Organisation", "a1")}, token=world.tokens["admin_a"])
    assert result["data"]["node"] == {"name": "Tenant A1", "parent": {"name": "Tenant A", "parent": None}}


async def test_organisation_id_is_a_uuid_to_copy(gql, world, runtime):
    result = await gql("{ organisations { nodes { id name organisationId } } }", token=world.tokens["platform"])
    nodes = result["data"]["organisations"]["nodes"]
    ids = [node["organisationId"] for node in nodes]
    assert len(set(ids)) == len(ids) == 4
    for node in nodes:
        assert str(uuid.UUID(node["organisationId"])) == node["organisationId"]
        assert node["organisationId"] != node["id"]  # not the global ID
    a = world.organisations["a"]
    assert (
        next(n for n in nodes if n["name"] == "Tenant A")["organisationId"]
        == (await organisation(runtime, a.id)).public_id
    )


# --- organisationCreate --------------------------------------------------------------------------------


async def test_create_under_own_organisation(gql, world, runtime):
    result = await gql(
        CREATE,
        {"input": {"name": " Depot North ", "yourReference": "CUST-17", "canCreateOrganisations": True}},
        token=world.tokens["admin_a"],
    )
    payload = result["data"]["organisationCreate"]
    assert payload["errors"] == []
    created = payload["organisation"]
    assert (created["name"], created["yourReference"], created["canCreateOrganisations"], created["parent"]) == (
        "Depot North",
        "CUST-17",
        True,
        {"name": "Tenant A"},
    )
    uuid.UUID(created["organisationId"])
    async with runtime.session_factory() as session:
        row = await session.scalar(select(m.Organisation).where(m.Organisation.name == "Depot North"))
    assert created["id"] == to_global_id("Organisation", row.id)
    assert row.parent_id == world.organisations["a"].id
    assert row.path == f"{world.organisations['a'].path}{row.id}/"
    # it belongs to A's subtree: A's admin sees it, B's does not
    assert "Depot North" in await names(gql, world.tokens["admin_a"])
    assert "Depot North" not in await names(gql, world.tokens["admin_b"])
    # and it may create below itself, since it was allowed to
    result = await gql(
        CREATE, {"input": {"name": "Depot North East", "parentId": created["id"]}}, token=world.tokens["admin_a"]
    )
    assert result["data"]["organisationCreate"]["organisation"]["parent"] == {"name": "Depot North"}


async def test_create_refused_where_the_parent_may_not_create(gql, world, runtime):
    before = await organisation_rows(runtime)
    # A1 has canCreateOrganisations = false
    result = await gql(
        CREATE,
        {"input": {"name": "Grandchild", "parentId": world.id("Organisation", "a1")}},
        token=world.tokens["admin_a"],
    )
    assert payload_errors(result, "organisationCreate") == [("NOT_ALLOWED", ["parentId"])]
    assert result["data"]["organisationCreate"]["organisation"] is None
    # an admin of A1 cannot create under A1 either
    async with runtime.session_factory() as session, session.begin():
        admin_a1 = await add_user(session, world.organisations["a1"], "admin@a1.example", [m.Role.ORGANISATION_ADMIN])
        token = await issue_token(session, admin_a1)
    result = await gql(CREATE, {"input": {"name": "Grandchild"}}, token=token)
    assert payload_errors(result, "organisationCreate") == [("NOT_ALLOWED", ["parentId"])]
    assert await organisation_rows(runtime) == before


@pytest.mark.parametrize(
    "values, code, field",
    [
        ({"name": ""}, "REQUIRED", ["name"]),
        ({"name": "  "}, "REQUIRED", ["name"]),
        ({"name": "x" * 201}, "TOO_LONG", ["name"]),
        ({"name": "Fine", "yourReference": "r" * 201}, "TOO_LONG", ["yourReference"]),
        ({"name": "Fine", "parentId": "!!!"}, "NOT_FOUND", ["parentId"]),
    ],
)
async def test_create_refuses_bad_input(gql, world, runtime, values, code, field):
    before = await organisation_rows(runtime)
    result = await gql(CREATE, {"input": values}, token=world.tokens["admin_a"])
    assert payload_errors(result, "organisationCreate") == [(code, field)]
    assert await organisation_rows(runtime) == before


async def test_plain_user_cannot_create_or_update(gql, world, runtime):
    before = await organisation_rows(runtime)
    assert codes(await gql(CREATE, {"input": {"name": "Nope"}}, token=world.tokens["user_a"])) == ["FORBIDDEN"]
    update = {"input": {"id": world.id("Organisation", "a1"), "name": "Nope"}}
    assert codes(await gql(UPDATE, update, token=world.tokens["user_a"])) == ["FORBIDDEN"]
    assert codes(await gql(CREATE, {"input": {"name": "Nope"}})) == ["UNAUTHENTICATED"]
    assert await organisation_rows(runtime) == before


# --- organisationUpdate --------------------------------------------------------------------------------


async def test_update_a_child(gql, world, runtime):
    a1 = world.id("Organisation", "a1")
    result = await gql(
        UPDATE,
        {"input": {"id": a1, "name": "Tenant A1 (renamed)", "yourReference": "REF-1", "canCreateOrganisations": True}},
        token=world.tokens["admin_a"],
    )
    payload = result["data"]["organisationUpdate"]
    assert payload["errors"] == []
    assert {k: payload["organisation"][k] for k in ("name", "yourReference", "canCreateOrganisations")} == {
        "name": "Tenant A1 (renamed)",
        "yourReference": "REF-1",
        "canCreateOrganisations": True,
    }
    row = await organisation(runtime, world.organisations["a1"].id)
    assert (row.name, row.your_reference, row.can_create_organisations) == ("Tenant A1 (renamed)", "REF-1", True)
    # now A1 may create
    result = await gql(CREATE, {"input": {"name": "Grandchild", "parentId": a1}}, token=world.tokens["admin_a"])
    assert result["data"]["organisationCreate"]["errors"] == []
    # omitted fields stay, and the reference can be cleared
    result = await gql(UPDATE, {"input": {"id": a1, "yourReference": ""}}, token=world.tokens["admin_a"])
    row = await organisation(runtime, world.organisations["a1"].id)
    assert (row.name, row.your_reference, row.can_create_organisations) == ("Tenant A1 (renamed)", "", True)


async def test_cannot_change_can_create_organisations_of_own_organisation(gql, world, runtime):
    """Otherwise a tenant that may not create organisations could allow itself."""
    async with runtime.session_factory() as session, session.begin():
        admin_a1 = await add_user(session, world.organisations["a1"], "admin@a1.example", [m.Role.ORGANISATION_ADMIN])
        token = await issue_token(session, admin_a1)
    before = await organisation_rows(runtime)
    result = await gql(
        UPDATE,
        {"input": {"id": world.id("Organisation", "a1"), "name": "Sneaky", "canCreateOrganisations": True}},
        token=token,
    )
    assert payload_errors(result, "organisationUpdate") == [("NOT_ALLOWED", ["canCreateOrganisations"])]
    result = await gql(
        UPDATE,
        {"input": {"id": world.id("Organisation", "a"), "canCreateOrganisations": False}},
        token=world.tokens["admin_a"],
    )
    assert payload_errors(result, "organisationUpdate") == [("NOT_ALLOWED", ["canCreateOrganisations"])]
    assert await organisation_rows(runtime) == before
    # the parent cannot be reached from the child
    result = await gql(UPDATE, {"input": {"id": world.id("Organisation", "a"), "name": "Taken"}}, token=token)
    assert payload_errors(result, "organisationUpdate") == [("NOT_FOUND", ["id"])]
    # renaming one's own organisation is fine
    result = await gql(UPDATE, {"input": {"id": world.id("Organisation", "a1"), "yourReference": "mine"}}, token=token)
    assert result["data"]["organisationUpdate"]["errors"] == []


@pytest.mark.parametrize(
    "values, code, field",
    [
        ({"name": ""}, "REQUIRED", ["name"]),
        ({"name": "n" * 201}, "TOO_LONG", ["name"]),
        ({"yourReference": "r" * 201}, "TOO_LONG", ["yourReference"]),
        ({"passwordMinLength": 8}, "INVALID", ["passwordMinLength"]),
        ({"passwordHistory": 99}, "INVALID", ["passwordHistory"]),
    ],
)
async def test_update_refuses_bad_input_and_changes_nothing(gql, world, runtime, values, code, field):
    before = await organisation_rows(runtime)
    # a valid change rides along: it must not be written
    result = await gql(
        UPDATE,
        {"input": {"id": world.id("Organisation", "a1"), "canCreateOrganisations": True, **values}},
        token=world.tokens["admin_a"],
    )
    assert payload_errors(result, "organisationUpdate") == [(code, field)]
    assert result["data"]["organisationUpdate"]["organisation"] is None
    assert await organisation_rows(runtime) == before


# --- partners ----------------------------------------------------------------------------------------


async def public_id(runtime, key_or_pk, world=None) -> str:
    pk = world.organisations[key_or_pk].id if world else key_or_pk
    return (await organisation(runtime, pk)).public_id


async def test_partner_add_makes_name_and_id_visible_but_not_data(gql, world, runtime):
    b_uuid = await public_id(runtime, "b", world)
    result = await gql(
        PARTNER_ADD, {"input": {"partnerOrganisationId": f"  {b_uuid.upper()} "}}, token=world.tokens["admin_a"]
    )
    assert result["data"]["partnerAdd"] == {
        "organisation": {"name": "Tenant A", "partners": [{"name": "Tenant B", "organisationId": b_uuid}]},
        "errors": [],
    }
    listed = await gql(
        "{ organisations { nodes { name partners { id name organisationId } } } }", token=world.tokens["user_a"]
    )
    b_id = world.id("Organisation", "b")
    assert listed["data"]["organisations"]["nodes"] == [
        {"name": "Tenant A", "partners": [{"id": b_id, "name": "Tenant B", "organisationId": b_uuid}]},
        {"name": "Tenant A1", "partners": []},
    ]
    # B's organisation and users stay invisible to A, by the partner's listed ID too
    token = world.tokens["admin_a"]
    for global_id in (b_id, world.id("User", "user_b"), world.id("User", "admin_b")):
        assert (await gql(NODE, {"id": global_id}, token=token))["data"]["node"] is None
    users = await gql("{ users(first: 500) { nodes { email } } }", token=token)
    assert not [u for u in users["data"]["users"]["nodes"] if u["email"].endswith("b.example")]
    assert "Tenant B" not in await names(gql, token)
    by_org = await gql(
        "query($id: ID!) { users(filter: {organisationId: $id}) { totalCount } }",
        {"id": world.id("Organisation", "b")},
        token=token,
    )
    assert by_org["data"]["users"]["totalCount"] == 0
    # the link is one-way: B does not see A as its partner
    b_view = await gql("{ organisations { nodes { name partners { name } } } }", token=world.tokens["admin_b"])
    assert b_view["data"]["organisations"]["nodes"] == [{"name": "Tenant B", "partners": []}]


async def test_partner_add_for_a_child_organisation(gql, world, runtime):
    b_uuid = await public_id(runtime, "b", world)
    result = await gql(
        PARTNER_ADD,
        {"input": {"partnerOrganisationId": b_uuid, "organisationId": world.id("Organisation", "a1")}},
        token=world.tokens["admin_a"],
    )
    assert result["data"]["partnerAdd"]["organisation"] == {
        "name": "Tenant A1",
        "partners": [{"name": "Tenant B", "organisationId": b_uuid}],
    }


async def test_partner_add_refusals(gql, world, runtime):
    token = world.tokens["admin_a"]
    b_uuid = await public_id(runtime, "b", world)
    a_uuid = await public_id(runtime, "a", world)
    before = await organisation_rows(runtime)
    cases = [
        (str(uuid.uuid4()), "NOT_FOUND"),
        (a_uuid, "INVALID"),  # yourself
        ("not-a-uuid", "INVALID"),
        ("", "INVALID"),
        ("x" * 5000, "INVALID"),
    ]
    for partner, code in cases:
        result = await gql(PARTNER_ADD, {"input": {"partnerOrganisationId": partner}}, token=token)
        assert payload_errors(result, "partnerAdd") == [(code, ["partnerOrganisationId"])], partner
        assert result["data"]["partnerAdd"]["organisation"] is None
    assert await organisation_rows(runtime) == before

    assert (await gql(PARTNER_ADD, {"input": {"partnerOrganisationId": b_uuid}}, token=token))["data"]["partnerAdd"][
        "errors"
    ] == []
    linked = await organisation_rows(runtime)
    twice = await gql(PARTNER_ADD, {"input": {"partnerOrganisationId": b_uuid}}, token=token)
    assert payload_errors(twice, "partnerAdd") == [("DUPLICATE", ["partnerOrganisationId"])]
    assert await organisation_rows(runtime) == linked
    assert codes(
        await gql(PARTNER_ADD, {"input": {"partnerOrganisationId": b_uuid}}, token=world.tokens["user_a"])
    ) == ["FORBIDDEN"]


async def test_partner_remove(gql, world, runtime):
    token = world.tokens["admin_a"]
    b_uuid = await public_id(runtime, "b", world)
    platform_uuid = await public_id(runtime, "platform", world)
    for partner in (b_uuid, platform_uuid):
        await gql(PARTNER_ADD, {"input": {"partnerOrganisationId": partner}}, token=token)
    result = await gql(PARTNER_REMOVE, {"input": {"partnerOrganisationId": b_uuid}}, token=token)
    assert result["data"]["partnerRemove"] == {
        "organisation": {"name": "Tenant A", "partners": [{"name": "Platform", "organisationId": platform_uuid}]},
        "errors": [],
    }
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(m.PartnerLink)) == 1
    again = await gql(PARTNER_REMOVE, {"input": {"partnerOrganisationId": b_uuid}}, token=token)
    assert payload_errors(again, "partnerRemove") == [("NOT_FOUND", ["partnerOrganisationId"])]
    unknown = await gql(PARTNER_REMOVE, {"input": {"partnerOrganisationId": str(uuid.uuid4())}}, token=token)
    # not linked and not existing read alike: removal reveals nothing about other organisations
    assert unknown["data"]["partnerRemove"]["errors"] == again["data"]["partnerRemove"]["errors"]
    assert codes(
        await gql(PARTNER_REMOVE, {"input": {"partnerOrganisationId": platform_uuid}}, token=world.tokens["user_a"])
    ) == ["FORBIDDEN"]


async def test_removing_a_partner_leaves_its_data_alone(gql, world, runtime):
    """Partners are links only: removing one leaves the partner's organisation and users alone."""
    token = world.tokens["admin_a"]
    b_uuid = await public_id(runtime, "b", world)
    await gql(PARTNER_ADD, {"input": {"partnerOrganisationId": b_uuid}}, token=token)
    await gql(PARTNER_REMOVE, {"input": {"partnerOrganisationId": b_uuid}}, token=token)
    assert sorted(await names(gql, world.tokens["admin_b"])) == ["Tenant B"]
    users = await gql("{ users { totalCount } }", token=world.tokens["admin_b"])
    assert users["data"]["users"]["totalCount"] == 2
