"""Users: create, edit, deactivate, delete, grant permissions, and the users list (the manuals' Users page)."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from graph.relay import to_global_id
from graph.schema import build_schema
from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from models.mail import OutboxMessage, TemplateType
from tests.factories import NEW_PASSWORD, PASSWORD, add_user

USER = (
    "id name email language csvDelimiter csvThousandsSeparator isActive organisation { name } roles grantedPermissions"
)
ERRORS = "errors { code field message }"

CREATE = f"mutation($input: UserCreateInput!) {{ userCreate(input: $input) {{ user {{ {USER} }} {ERRORS} }} }}"
UPDATE = f"mutation($input: UserUpdateInput!) {{ userUpdate(input: $input) {{ user {{ {USER} }} {ERRORS} }} }}"
DEACTIVATE = f"mutation($input: UserIdInput!) {{ userDeactivate(input: $input) {{ user {{ isActive }} {ERRORS} }} }}"
REACTIVATE = f"mutation($input: UserIdInput!) {{ userReactivate(input: $input) {{ user {{ isActive }} {ERRORS} }} }}"
DELETE = f"mutation($input: UserIdInput!) {{ userDelete(input: $input) {{ deletedId {ERRORS} }} }}"
PERMISSIONS = (
    f"mutation($input: UserPermissionsSetInput!) {{ userPermissionsSet(input: $input) {{ user {{ "
    f"grantedPermissions }} {ERRORS} }} }}"
)
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
ME = "{ me { email } }"


def codes(result: dict) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


def payload_errors(result: dict, field: str) -> list[tuple[str, list[str] | None]]:
    return [(error["code"], error["field"]) for error in result["data"][field]["errors"]]


async def fetch(runtime, statement):
    async with runtime.session_factory() as session:
        return (await session.execute(statement)).all()


async def user_row(runtime, email: str) -> m.User | None:
    async with runtime.session_factory() as session:
        return await session.scalar(select(m.User).where(m.User.email == email))


async def user_count(runtime) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(m.User))


async def snapshot_user(runtime, user_id: int) -> tuple:
    """Every stored fact about a user: the row, roles and granted permissions."""
    async with runtime.session_factory() as session:
        user = await session.get(m.User, user_id)
        roles = sorted((await session.scalars(select(m.UserRole.role).where(m.UserRole.user_id == user_id))).all())
        granted = sorted(
            (
                await session.scalars(select(m.UserPermission.permission).where(m.UserPermission.user_id == user_id))
            ).all()
        )
    columns = {c.key: getattr(user, c.key) for c in m.User.__table__.columns} if user else None
    return columns, roles, granted


async def login(gql, email: str, password: str = PASSWORD) -> dict:
    return (await gql(LOGIN, {"input": {"email": email, "password": password}}))["data"]["login"]


# --- userCreate ------------------------------------------------------------------------------------


async def test_user_create_stores_every_field(gql, world, runtime):
    result = await gql(
        CREATE,
        {
            "input": {
                "name": "  Ada Lovelace ",
                "email": " Ada@Example.ORG ",
                "password": NEW_PASSWORD,
                "organisationId": world.id("Organisation", "a1"),
                "roles": ["ORGANISATION_ADMIN", "USER"],
                "language": "DE",
                "csvDelimiter": ",",
                "csvThousandsSeparator": ".",
            }
        },
        token=world.tokens["admin_a"],
    )
    payload = result["data"]["userCreate"]
    assert payload["errors"] == []
    user = payload["user"]
    assert {k: v for k, v in user.items() if k != "id"} == {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "language": "DE",
        "csvDelimiter": ",",
        "csvThousandsSeparator": ".",
        "isActive": True,
        "organisation": {"name": "Tenant A1"},
        "roles": ["ORGANISATION_ADMIN", "USER"],
        "grantedPermissions": [],
    }
    row = await user_row(runtime, "ada@example.org")
    assert user["id"] == to_global_id("User", row.id)
    assert (row.organisation_id, row.language, row.csv_delimiter, row.csv_thousands_separator) == (
        world.organisations["a1"].id,
        "de",
        ",",
        ".",
    )
    assert row.password_hash.startswith("$argon2id$") and NEW_PASSWORD not in row.password_hash
    # the new account works with the password it was given
    assert (await login(gql, "ada@example.org", NEW_PASSWORD))["accessToken"]


async def test_user_create_defaults(gql, world, runtime):
    result = await gql(
        CREATE,
        {"input": {"name": "Bob", "email": "bob@a.example", "password": NEW_PASSWORD}},
        token=world.tokens["admin_a"],
    )
    user = result["data"]["userCreate"]["user"]
    assert user["organisation"] == {"name": "Tenant A"}  # the creator's organisation
    assert user["roles"] == ["USER"]
    assert (user["language"], user["csvDelimiter"], user["csvThousandsSeparator"]) == ("EN", ";", "")


async def test_user_create_accepts_a_name_of_exactly_200_characters(gql, world):
    result = await gql(
        CREATE,
        {"input": {"name": "N" * 200, "email": "long@a.example", "password": NEW_PASSWORD}},
        token=world.tokens["admin_a"],
    )
    assert result["data"]["userCreate"]["errors"] == []
    assert len(result["data"]["userCreate"]["user"]["name"]) == 200


REFUSED_CREATES = {
    "duplicate e-mail": ({"email": "user@a.example"}, "DUPLICATE", ["email"]),
    "duplicate e-mail, other case and spaces": ({"email": "  USER@A.example "}, "DUPLICATE", ["email"]),
    "duplicate e-mail of another tenant": ({"email": "user@b.example"}, "DUPLICATE", ["email"]),
    "bad e-mail": ({"email": "not-an-email"}, "INVALID", ["email"]),
    "e-mail with two @": ({"email": "a@b@c.example"}, "INVALID", ["email"]),
    "oversized name": ({"name": "N" * 201}, "TOO_LONG", ["name"]),
    "blank name": ({"name": "   "}, "REQUIRED", ["name"]),
    # NUL (which PostgreSQL cannot store) is refused before execution: tests/graph/test_bad_input.py
    "invalid csv delimiter": ({"csvDelimiter": "x"}, "INVALID", ["csvDelimiter"]),
    "two-character csv delimiter": ({"csvDelimiter": ";;"}, "INVALID", ["csvDelimiter"]),
    "invalid thousands separator": ({"csvThousandsSeparator": "x"}, "INVALID", ["csvThousandsSeparator"]),
    "thousands separator equal to delimiter": (
        {"csvDelimiter": ",", "csvThousandsSeparator": ","},
        "INVALID",
        ["csvThousandsSeparator"],
    ),
    "platform admin role": ({"roles": ["PLATFORM_ADMIN"]}, "NOT_ALLOWED", ["roles"]),
    "no roles": ({"roles": []}, "REQUIRED", ["roles"]),
    "weak password": ({"password": "password"}, "WEAK_PASSWORD", ["password"]),
    "common password decorated": ({"password": "Password123!x"}, "WEAK_PASSWORD", ["password"]),
    "password with a run": ({"password": "Kayak#Lantern123"}, "WEAK_PASSWORD", ["password"]),
    "organisation of another tenant": ({"organisationId": "B"}, "NOT_FOUND", ["organisationId"]),
    "malformed organisation ID": ({"organisationId": "!!!"}, "NOT_FOUND", ["organisationId"]),
}


@pytest.mark.parametrize("case", REFUSED_CREATES, ids=list(REFUSED_CREATES))
async def test_user_create_refuses_bad_input_and_changes_nothing(gql, world, runtime, case):
    overrides, code, field = REFUSED_CREATES[case]
    values = {"name": "New Person", "email": "new.person@a.example", "password": NEW_PASSWORD, **overrides}
    if values.get("organisationId") == "B":
        values["organisationId"] = world.id("Organisation", "b")
    before = await user_count(runtime)
    result = await gql(CREATE, {"input": values}, token=world.tokens["admin_a"])
    payload = result["data"]["userCreate"]
    assert payload["user"] is None
    assert payload_errors(result, "userCreate") == [(code, field)]
    assert payload["errors"][0]["message"]
    assert await user_count(runtime) == before
    assert await user_row(runtime, "new.person@a.example") is None
    assert await fetch(runtime, select(AuditEvent).where(AuditEvent.action == "user.created")) == []
    assert await fetch(runtime, select(m.PasswordHistory)) == []


async def test_plain_user_cannot_create_users(gql, world, runtime):
    before = await user_count(runtime)
    variables = {"input": {"name": "Sneaky", "email": "sneaky@a.example", "password": NEW_PASSWORD}}
    result = await gql(CREATE, variables, token=world.tokens["user_a"])
    assert codes(result) == ["FORBIDDEN"]
    assert result["data"] is None
    anonymous = await gql(CREATE, variables)
    assert codes(anonymous) == ["UNAUTHENTICATED"]
    assert await user_count(runtime) == before


# --- userUpdate ------------------------------------------------------------------------------------


async def test_admin_updates_every_field(gql, world, runtime):
    user_a = world.users["user_a"]
    result = await gql(
        UPDATE,
        {
            "input": {
                "id": world.id("User", "user_a"),
                "name": "Renamed",
                "email": "renamed@a.example",
                "organisationId": world.id("Organisation", "a1"),
                "roles": ["ORGANISATION_ADMIN"],
                "language": "FR",
                "csvDelimiter": "|",
                "csvThousandsSeparator": " ",
            }
        },
        token=world.tokens["admin_a"],
    )
    payload = result["data"]["userUpdate"]
    assert payload["errors"] == []
    assert {k: v for k, v in payload["user"].items() if k != "id"} == {
        # the address changes only once confirmed through the link mailed to it (tests/identity/test_email_change.py)
        "name": "Renamed",
        "email": "user@a.example",
        "language": "FR",
        "csvDelimiter": "|",
        "csvThousandsSeparator": " ",
        "isActive": True,
        "organisation": {"name": "Tenant A1"},
        "roles": ["ORGANISATION_ADMIN"],
        "grantedPermissions": [],
    }
    columns, roles, _ = await snapshot_user(runtime, user_a.id)
    assert (columns["email"], columns["organisation_id"], columns["language"]) == (
        "user@a.example",
        world.organisations["a1"].id,
        "fr",
    )
    assert roles == [m.Role.ORGANISATION_ADMIN]
    mails = await fetch(runtime, select(OutboxMessage.to_address, OutboxMessage.template_type))
    assert mails == [("renamed@a.example", TemplateType.CONFIRM_EMAIL)]


async def test_update_leaves_omitted_fields_alone(gql, world, runtime):
    before, roles_before, _ = await snapshot_user(runtime, world.users["user_a"].id)
    result = await gql(
        UPDATE, {"input": {"id": world.id("User", "user_a"), "language": "SV"}}, token=world.tokens["admin_a"]
    )
    assert result["data"]["userUpdate"]["errors"] == []
    after, roles_after, _ = await snapshot_user(runtime, world.users["user_a"].id)
    assert after == {**before, "language": "sv"}
    assert roles_after == roles_before


async def test_self_edit_of_name_and_language_is_allowed(gql, world, runtime):
    result = await gql(
        UPDATE,
        {"input": {"id": world.id("User", "user_a"), "name": "Me Myself", "language": "IT", "csvDelimiter": ","}},
        token=world.tokens["user_a"],
    )
    assert result["data"]["userUpdate"]["errors"] == []
    columns, _, _ = await snapshot_user(runtime, world.users["user_a"].id)
    assert (columns["name"], columns["language"], columns["csv_delimiter"]) == ("Me Myself", "it", ",")


@pytest.mark.parametrize(
    "change",
    [
        {"roles": ["ORGANISATION_ADMIN"]},
        {"roles": ["USER"]},
        {"organisationId": "A1"},
        {"requireTwoFactor": False},
        {"name": "Fine", "roles": ["ORGANISATION_ADMIN"]},  # the allowed part must not be written either
    ],
)
async def test_self_edit_of_roles_or_organisation_is_refused(gql, world, runtime, change):
    if change.get("organisationId") == "A1":
        change = {**change, "organisationId": world.id("Organisation", "a1")}
    before = await snapshot_user(runtime, world.users["user_a"].id)
    result = await gql(UPDATE, {"input": {"id": world.id("User", "user_a"), **change}}, token=world.tokens["user_a"])
    assert [e["code"] for e in result["data"]["userUpdate"]["errors"]] == ["NOT_ALLOWED"]
    assert result["data"]["userUpdate"]["user"] is None
    assert await snapshot_user(runtime, world.users["user_a"].id) == before


async def test_admin_cannot_change_own_roles(gql, world, runtime):
    before = await snapshot_user(runtime, world.users["admin_a"].id)
    result = await gql(
        UPDATE, {"input": {"id": world.id("User", "admin_a"), "roles": ["USER"]}}, token=world.tokens["admin_a"]
    )
    assert [e["code"] for e in result["data"]["userUpdate"]["errors"]] == ["NOT_ALLOWED"]
    assert await snapshot_user(runtime, world.users["admin_a"].id) == before


async def test_plain_user_cannot_edit_another_user(gql, world, runtime):
    before = await snapshot_user(runtime, world.users["user_a1"].id)
    result = await gql(
        UPDATE, {"input": {"id": world.id("User", "user_a1"), "name": "Hijacked"}}, token=world.tokens["user_a"]
    )
    assert codes(result) == ["FORBIDDEN"]
    assert await snapshot_user(runtime, world.users["user_a1"].id) == before


REFUSED_UPDATES = {
    "duplicate e-mail": ({"email": "ADMIN@a.example"}, "DUPLICATE", ["email"]),
    "bad e-mail": ({"email": "nope"}, "INVALID", ["email"]),
    "oversized name": ({"name": "x" * 201}, "TOO_LONG", ["name"]),
    "blank name": ({"name": ""}, "REQUIRED", ["name"]),
    "invalid csv delimiter": ({"csvDelimiter": "x"}, "INVALID", ["csvDelimiter"]),
    # the stored delimiter is ";": a thousands separator ";" is invalid, and so is a clash with a new delimiter
    "thousands separator clashes with new delimiter": (
        {"csvDelimiter": ",", "csvThousandsSeparator": ","},
        "INVALID",
        ["csvThousandsSeparator"],
    ),
    "platform admin role": ({"roles": ["PLATFORM_ADMIN"]}, "NOT_ALLOWED", ["roles"]),
    "no roles": ({"roles": []}, "REQUIRED", ["roles"]),
    "move to another tenant": ({"organisationId": "B"}, "NOT_FOUND", ["organisationId"]),
}


@pytest.mark.parametrize("case", REFUSED_UPDATES, ids=list(REFUSED_UPDATES))
async def test_update_refuses_bad_input_and_changes_nothing(gql, world, runtime, case):
    change, code, field = REFUSED_UPDATES[case]
    if change.get("organisationId") == "B":
        change = {**change, "organisationId": world.id("Organisation", "b")}
    before = await snapshot_user(runtime, world.users["user_a"].id)
    # a valid name change rides along: it must be rolled back with the rest
    result = await gql(
        UPDATE,
        {"input": {"id": world.id("User", "user_a"), "language": "ES", **{"name": "Valid", **change}}},
        token=world.tokens["admin_a"],
    )
    assert result["data"]["userUpdate"]["user"] is None
    assert payload_errors(result, "userUpdate") == [(code, field)]
    assert await snapshot_user(runtime, world.users["user_a"].id) == before


# --- deactivate, reactivate, delete ----------------------------------------------------------------


async def test_deactivated_user_cannot_log_in_and_tokens_stop_working(gql, world, runtime):
    assert (await gql(ME, token=world.tokens["user_a"]))["data"]["me"]["email"] == "user@a.example"
    fresh = await login(gql, "user@a.example")
    assert fresh["accessToken"]

    result = await gql(DEACTIVATE, {"input": {"id": world.id("User", "user_a")}}, token=world.tokens["admin_a"])
    assert result["data"]["userDeactivate"] == {"user": {"isActive": False}, "errors": []}
    for token in (world.tokens["user_a"], fresh["accessToken"]):
        assert codes(await gql(ME, token=token)) == ["UNAUTHENTICATED"]
    assert (await login(gql, "user@a.example")) == {"accessToken": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}
    # other users are untouched
    assert (await gql(ME, token=world.tokens["user_a1"]))["data"]["me"]["email"] == "user@a1.example"

    result = await gql(REACTIVATE, {"input": {"id": world.id("User", "user_a")}}, token=world.tokens["admin_a"])
    assert result["data"]["userReactivate"] == {"user": {"isActive": True}, "errors": []}
    # reactivation does not revive the sessions that deactivation ended
    assert codes(await gql(ME, token=world.tokens["user_a"])) == ["UNAUTHENTICATED"]
    again = await login(gql, "user@a.example")
    assert (await gql(ME, token=again["accessToken"]))["data"]["me"]["email"] == "user@a.example"


async def test_deactivated_user_is_filtered_and_flagged(gql, world):
    await gql(DEACTIVATE, {"input": {"id": world.id("User", "user_a1")}}, token=world.tokens["admin_a"])
    inactive = await gql(
        "{ users(filter: {isActive: false}) { nodes { email isActive } } }", token=world.tokens["admin_a"]
    )
    assert inactive["data"]["users"]["nodes"] == [{"email": "user@a1.example", "isActive": False}]
    active = await gql("{ users(filter: {isActive: true}) { nodes { email } } }", token=world.tokens["admin_a"])
    assert sorted(n["email"] for n in active["data"]["users"]["nodes"]) == ["admin@a.example", "user@a.example"]


async def test_cannot_deactivate_or_delete_yourself(gql, world, runtime):
    before = await snapshot_user(runtime, world.users["admin_a"].id)
    me = {"input": {"id": world.id("User", "admin_a")}}
    assert payload_errors(await gql(DEACTIVATE, me, token=world.tokens["admin_a"]), "userDeactivate") == [
        ("NOT_ALLOWED", ["id"])
    ]
    assert payload_errors(await gql(DELETE, me, token=world.tokens["admin_a"]), "userDelete") == [
        ("NOT_ALLOWED", ["id"])
    ]
    assert await snapshot_user(runtime, world.users["admin_a"].id) == before


async def test_plain_user_cannot_deactivate_reactivate_or_delete(gql, world, runtime):
    target = {"input": {"id": world.id("User", "user_a1")}}
    before = await snapshot_user(runtime, world.users["user_a1"].id)
    for mutation in (DEACTIVATE, REACTIVATE, DELETE):
        assert codes(await gql(mutation, target, token=world.tokens["user_a"])) == ["FORBIDDEN"]
    assert await snapshot_user(runtime, world.users["user_a1"].id) == before


async def test_delete_user(gql, world, runtime):
    user_id = world.id("User", "user_a")
    result = await gql(DELETE, {"input": {"id": user_id}}, token=world.tokens["admin_a"])
    assert result["data"]["userDelete"] == {"deletedId": user_id, "errors": []}
    assert await user_row(runtime, "user@a.example") is None
    # tokens, roles go with the user; the audit trail stays
    assert await fetch(runtime, select(m.AuthToken).where(m.AuthToken.user_id == world.users["user_a"].id)) == []
    assert await fetch(runtime, select(m.UserRole).where(m.UserRole.user_id == world.users["user_a"].id)) == []
    assert len(await fetch(runtime, select(AuditEvent).where(AuditEvent.action == "user.deleted"))) == 1
    assert codes(await gql(ME, token=world.tokens["user_a"])) == ["UNAUTHENTICATED"]
    assert (await login(gql, "user@a.example"))["accessToken"] is None
    node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": user_id}, token=world.tokens["admin_a"])
    assert node["data"]["node"] is None
    # deleting again: the user is gone
    again = await gql(DELETE, {"input": {"id": user_id}}, token=world.tokens["admin_a"])
    assert payload_errors(again, "userDelete") == [("NOT_FOUND", ["id"])]


async def test_deleted_users_email_can_be_reused(gql, world):
    await gql(DELETE, {"input": {"id": world.id("User", "user_a")}}, token=world.tokens["admin_a"])
    result = await gql(
        CREATE,
        {"input": {"name": "Successor", "email": "user@a.example", "password": NEW_PASSWORD}},
        token=world.tokens["admin_a"],
    )
    assert result["data"]["userCreate"]["errors"] == []


# --- permissions ------------------------------------------------------------------------------------


async def test_permissions_set_grants_and_replaces(gql, world, runtime):
    target = world.id("User", "user_a")
    result = await gql(
        PERMISSIONS,
        {"input": {"id": target, "permissions": ["USERS_MANAGE", "AUDIT_READ", "USERS_MANAGE"]}},
        token=world.tokens["admin_a"],
    )
    assert result["data"]["userPermissionsSet"] == {
        "user": {"grantedPermissions": ["AUDIT_READ", "USERS_MANAGE"]},
        "errors": [],
    }
    # the grant takes effect: user_a may now read the audit trail
    audit = await gql("{ auditEvents { totalCount } }", token=world.tokens["user_a"])
    assert "errors" not in audit and audit["data"]["auditEvents"]["totalCount"] >= 1
    result = await gql(PERMISSIONS, {"input": {"id": target, "permissions": []}}, token=world.tokens["admin_a"])
    assert result["data"]["userPermissionsSet"]["user"]["grantedPermissions"] == []
    assert codes(await gql("{ auditEvents { totalCount } }", token=world.tokens["user_a"])) == ["FORBIDDEN"]


async def test_cannot_grant_what_you_do_not_hold(gql, world, runtime):
    # user_a gets USERS_MANAGE only; USER gives no AUDIT_READ or PARTNERS_MANAGE
    async with runtime.session_factory() as session, session.begin():
        session.add(m.UserPermission(user_id=world.users["user_a"].id, permission=m.Permission.USERS_MANAGE))
    target = world.id("User", "user_a1")
    before = await snapshot_user(runtime, world.users["user_a1"].id)
    for wanted in (["AUDIT_READ"], ["USERS_READ", "PARTNERS_MANAGE"]):
        result = await gql(PERMISSIONS, {"input": {"id": target, "permissions": wanted}}, token=world.tokens["user_a"])
        assert payload_errors(result, "userPermissionsSet") == [("NOT_ALLOWED", ["permissions"])]
        assert await snapshot_user(runtime, world.users["user_a1"].id) == before
    # what user_a holds may be passed on
    result = await gql(
        PERMISSIONS, {"input": {"id": target, "permissions": ["USERS_MANAGE"]}}, token=world.tokens["user_a"]
    )
    assert result["data"]["userPermissionsSet"] == {"user": {"grantedPermissions": ["USERS_MANAGE"]}, "errors": []}


async def test_cannot_hand_out_a_role_beyond_your_own_permissions(gql, world, runtime):
    """Giving a role is granting its permissions: a user who may manage users cannot make admins."""
    async with runtime.session_factory() as session, session.begin():
        session.add(m.UserPermission(user_id=world.users["user_a"].id, permission=m.Permission.USERS_MANAGE))
    before_count = await user_count(runtime)
    result = await gql(
        CREATE,
        {
            "input": {
                "name": "Crony",
                "email": "crony@a.example",
                "password": NEW_PASSWORD,
                "roles": ["ORGANISATION_ADMIN"],
            }
        },
        token=world.tokens["user_a"],
    )
    assert payload_errors(result, "userCreate") == [("NOT_ALLOWED", ["roles"])]
    assert await user_count(runtime) == before_count
    before = await snapshot_user(runtime, world.users["user_a1"].id)
    result = await gql(
        UPDATE,
        {"input": {"id": world.id("User", "user_a1"), "roles": ["ORGANISATION_ADMIN"]}},
        token=world.tokens["user_a"],
    )
    assert payload_errors(result, "userUpdate") == [("NOT_ALLOWED", ["roles"])]
    assert await snapshot_user(runtime, world.users["user_a1"].id) == before
    # a plain USER role is within reach
    result = await gql(
        CREATE,
        {"input": {"name": "Helper", "email": "helper@a.example", "password": NEW_PASSWORD, "roles": ["USER"]}},
        token=world.tokens["user_a"],
    )
    assert result["data"]["userCreate"]["errors"] == []


async def test_cannot_manage_a_user_who_holds_more_than_you(gql, world, runtime):
    """Deactivating, deleting or editing an admin would let a lesser user take over or lock out the admin."""
    async with runtime.session_factory() as session, session.begin():
        session.add(m.UserPermission(user_id=world.users["user_a"].id, permission=m.Permission.USERS_MANAGE))
    admin = world.id("User", "admin_a")
    before = await snapshot_user(runtime, world.users["admin_a"].id)
    token = world.tokens["user_a"]
    checks = [
        (UPDATE, {"id": admin, "email": "taken-over@a.example"}, "userUpdate"),
        (DEACTIVATE, {"id": admin}, "userDeactivate"),
        (DELETE, {"id": admin}, "userDelete"),
        (PERMISSIONS, {"id": admin, "permissions": []}, "userPermissionsSet"),
    ]
    for mutation, values, field in checks:
        result = await gql(mutation, {"input": values}, token=token)
        assert payload_errors(result, field) == [("NOT_ALLOWED", ["id"])], field
    assert await snapshot_user(runtime, world.users["admin_a"].id) == before


# --- the users list ----------------------------------------------------------------------------------

LIST = """query($filter: UserFilter, $orderBy: UserOrder, $first: Int, $after: String, $last: Int, $before: String) {
  users(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { email } }
    nodes { email }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

MEMBERS = 25


@pytest.fixture
async def members(world, runtime) -> list[m.User]:
    """25 users of tenant A whose name, e-mail and creation orders all differ from each other and from id order."""
    created = []
    start = utcnow() - timedelta(days=1)
    async with runtime.session_factory() as session, session.begin():
        for i in range(MEMBERS):
            created.append(
                await add_user(
                    session,
                    world.organisations["a"],
                    f"m{(i * 7) % MEMBERS:02d}@a.example",
                    [m.Role.USER],
                    name=f"Member {(i * 11) % MEMBERS:02d}",
                    created_at=start + timedelta(minutes=(i * 3) % MEMBERS),
                )
            )
    return created


async def emails(gql, token, **variables) -> list[str]:
    result = await gql(LIST, {"first": 500, **variables}, token=token)
    assert "errors" not in result, result
    return [node["email"] for node in result["data"]["users"]["nodes"]]


async def test_list_filters(gql, world, members):
    token = world.tokens["admin_a"]
    # case-insensitive "contains", listed in the default order (name)
    assert await emails(gql, token, filter={"name": "mEMBER 0"}) == [
        u.email for u in sorted(members, key=lambda u: u.name) if u.name.startswith("Member 0")
    ]
    by_name = await emails(gql, token, filter={"name": "member 1"})
    assert sorted(by_name) == sorted(u.email for u in members if u.name.startswith("Member 1"))
    assert len(by_name) == 10
    assert await emails(gql, token, filter={"email": "@A1.EXAMPLE"}) == ["user@a1.example"]
    assert await emails(gql, token, filter={"email": "m0"}) == [
        u.email for u in sorted(members, key=lambda u: u.name) if u.email.startswith("m0")
    ]
    assert await emails(gql, token, filter={"organisationId": world.id("Organisation", "a1")}) == ["user@a1.example"]
    in_a = await emails(gql, token, filter={"organisationId": world.id("Organisation", "a")})
    assert sorted(in_a) == sorted(["admin@a.example", "user@a.example", *(u.email for u in members)])
    assert await emails(gql, token, filter={"role": "ORGANISATION_ADMIN"}) == ["admin@a.example"]
    assert await emails(gql, token, filter={"role": "PLATFORM_ADMIN"}) == []
    assert await emails(gql, token, filter={"name": "member", "email": "m1"}) == [
        u.email for u in sorted(members, key=lambda u: u.name) if u.email.startswith("m1")
    ]
    # LIKE wildcards are matched literally
    assert await emails(gql, token, filter={"name": "%"}) == []
    assert await emails(gql, token, filter={"email": "_"}) == []


async def test_list_filter_on_is_active_and_role_combined(gql, world, members, runtime):
    async with runtime.session_factory() as session, session.begin():
        for user in members[:3]:
            (await session.get(m.User, user.id)).is_active = False
    token = world.tokens["admin_a"]
    assert sorted(await emails(gql, token, filter={"isActive": False})) == sorted(u.email for u in members[:3])
    assert len(await emails(gql, token, filter={"isActive": True, "role": "USER"})) == MEMBERS - 3 + 2


ORDERINGS = {
    ("NAME", "ASC"): lambda u: (u.name, u.id),
    ("EMAIL", "ASC"): lambda u: (u.email, u.id),
    ("CREATED_AT", "ASC"): lambda u: (u.created_at, u.id),
}


@pytest.mark.parametrize("field", ["NAME", "EMAIL", "CREATED_AT"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_list_order(gql, world, members, field, direction):
    key = ORDERINGS[(field, "ASC")]
    expected = [u.email for u in sorted(members, key=key, reverse=direction == "DESC")]
    got = await emails(
        gql, world.tokens["admin_a"], filter={"name": "Member"}, orderBy={"field": field, "direction": direction}
    )
    assert got == expected
    # the three orders really differ, so a wrong sort column cannot pass
    assert len({tuple(u.email for u in sorted(members, key=k)) for k in ORDERINGS.values()}) == 3


async def test_default_order_is_by_name(gql, world, members):
    got = await emails(gql, world.tokens["admin_a"], filter={"name": "Member"})
    assert got == [u.email for u in sorted(members, key=lambda u: u.name)]


@pytest.mark.parametrize(
    "order", [None, {"field": "EMAIL", "direction": "DESC"}, {"field": "CREATED_AT", "direction": "ASC"}]
)
async def test_pagination_forward_and_backward(gql, world, members, order):
    token = world.tokens["admin_a"]
    base = {"filter": {"name": "Member"}, "orderBy": order}
    expected = await emails(gql, token, **base)
    assert len(expected) == MEMBERS

    pages, after = [], None
    for _ in range(5):
        result = await gql(LIST, {**base, "first": 10, "after": after}, token=token)
        connection = result["data"]["users"]
        pages.append(connection)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert [len(p["nodes"]) for p in pages] == [10, 10, 5]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True]
    assert [n["email"] for p in pages for n in p["nodes"]] == expected  # no duplicates, no gaps
    for page in pages:
        assert page["totalCount"] == MEMBERS
        assert [e["node"] for e in page["edges"]] == page["nodes"]
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]

    pages, before = [], None
    for _ in range(5):
        result = await gql(LIST, {**base, "first": None, "last": 10, "before": before}, token=token)
        connection = result["data"]["users"]
        pages.append(connection)
        if not connection["pageInfo"]["hasPreviousPage"]:
            break
        before = connection["pageInfo"]["startCursor"]
    assert [len(p["nodes"]) for p in pages] == [10, 10, 5]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [True, True, False]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [False, True, True]
    assert [n["email"] for p in reversed(pages) for n in p["nodes"]] == expected

    # a window between two cursors
    middle = await gql(
        LIST,
        {
            **base,
            "first": None,
            "after": pages[-1]["pageInfo"]["endCursor"],
            "before": pages[0]["pageInfo"]["startCursor"],
            "last": 50,
        },
        token=token,
    )
    assert [n["email"] for n in middle["data"]["users"]["nodes"]] == expected[5:15]


async def test_empty_page_and_exact_fit(gql, world, members):
    token = world.tokens["admin_a"]
    base = {"filter": {"name": "Member"}}
    full = (await gql(LIST, {**base, "first": MEMBERS}, token=token))["data"]["users"]
    assert full["pageInfo"]["hasNextPage"] is False and len(full["nodes"]) == MEMBERS
    beyond = (await gql(LIST, {**base, "first": 10, "after": full["pageInfo"]["endCursor"]}, token=token))["data"][
        "users"
    ]
    assert beyond["nodes"] == [] and beyond["pageInfo"]["hasNextPage"] is False
    assert beyond["pageInfo"]["startCursor"] is None and beyond["totalCount"] == MEMBERS
    none = (await gql(LIST, {**base, "first": 0}, token=token))["data"]["users"]
    assert none["nodes"] == [] and none["totalCount"] == MEMBERS


def cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 5001},
        {"first": -1},
        {"last": 5001},
        {"first": 5, "last": 5},
        {"after": "not-a-cursor"},
        {"after": "W10"},  # base64 of "[]": wrong arity
        {"before": "WyJ4Il0"},  # base64 of '["x"]'
        {"filter": {"organisationId": "!!!"}},
        {"filter": {"name": "\x00"}},
        # crafted cursors that would fail in the database rather than read as "no such position"
        {"after": cursor("Member 01", 2**40)},
        {"after": cursor("Member 01", True)},
        {"after": cursor("Member\x00", 1)},
        {"after": cursor("2020-01-01T00:00:00", 1), "orderBy": {"field": "CREATED_AT", "direction": "ASC"}},
        {"after": cursor("yesterday", 1), "orderBy": {"field": "CREATED_AT", "direction": "ASC"}},
        {"after": cursor(1, 1)},
    ],
)
async def test_bad_page_arguments_get_a_typed_error(gql, world, variables, runtime, monkeypatch):
    # A cost limit that would let 5,001 rows through: the page size limit itself refuses them.
    monkeypatch.setattr(runtime, "schema", build_schema(dataclasses.replace(runtime.settings, max_cost=1_000_000)))
    result = (await gql.raw(LIST, variables, token=world.tokens["admin_a"])).json()  # NUL: a 400 before execution
    assert codes(result) == ["BAD_USER_INPUT"]


async def test_admin_sees_own_and_child_organisation_users_never_other_tenants(gql, world, members):
    listed = await emails(gql, world.tokens["admin_a"])
    assert set(listed) == {"admin@a.example", "user@a.example", "user@a1.example", *(u.email for u in members)}
    total = (await gql(LIST, {}, token=world.tokens["admin_a"]))["data"]["users"]["totalCount"]
    assert total == MEMBERS + 3
    assert sorted(await emails(gql, world.tokens["admin_b"])) == ["admin@b.example", "user@b.example"]
    # a user of the child sees the child only, not the parent
    assert await emails(gql, world.tokens["user_a1"]) == ["user@a1.example"]
    # filters cannot reach across: B's organisation as a filter gives nothing
    assert await emails(gql, world.tokens["admin_a"], filter={"organisationId": world.id("Organisation", "b")}) == []
    assert await emails(gql, world.tokens["admin_a"], filter={"email": "b.example"}) == []
    # the platform admin sees everyone
    assert len(await emails(gql, world.tokens["platform"])) == MEMBERS + 6


async def test_users_list_needs_login(gql, world):
    assert codes(await gql(LIST, {})) == ["UNAUTHENTICATED"]
