"""The event history: every security-relevant action records who, what, when and from where;
admins read their organisation's history only, and no secret is ever written into it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select

from graph.relay import to_global_id
from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from tests.factories import NEW_PASSWORD, PASSWORD

ADMIN_SET_PASSWORD = "Quartz-Meadow!Harbor4"
CHANGED_PASSWORD = "Copper-Willow?Falcon8"
WRONG_PASSWORD = "Wrong-Guess%Orchid5"

EVENTS = """query($filter: AuditEventFilter, $first: Int) {
  auditEvents(filter: $filter, first: $first) {
    totalCount
    nodes { id action actor targetType targetId details clientAddress createdAt organisation { name } }
  }
}"""


def codes(result: dict) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


async def events(gql, token: str, **filter_) -> dict:
    result = await gql(EVENTS, {"filter": filter_ or None, "first": 500}, token=token)
    assert "errors" not in result, result
    return result["data"]["auditEvents"]


async def actions(gql, token: str, **filter_) -> list[str]:
    return [node["action"] for node in (await events(gql, token, **filter_))["nodes"]]


async def mutate(
    gql, token: str | None, name: str, input_type: str, values: dict, selection: str = "errors { code }"
) -> dict:
    result = await gql(
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} }} }}", {"input": values}, token=token
    )
    assert "errors" not in result, result
    return result["data"][name]


async def all_rows(runtime) -> list[AuditEvent]:
    async with runtime.session_factory() as session:
        return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())


# --- who, what, when, from where ------------------------------------------------------------------


async def test_user_create_records_who_what_when_and_from_where(gql, world, runtime):
    before = utcnow()
    created = await mutate(
        gql,
        world.tokens["admin_a"],
        "userCreate",
        "UserCreateInput",
        {
            "name": "New Person",
            "email": "new@a1.example",
            "password": NEW_PASSWORD,
            "organisationId": world.id("Organisation", "a1"),
            "roles": ["USER"],
        },
        "user { id } errors { code }",
    )
    after = utcnow()
    assert created["errors"] == []
    found = await events(gql, world.tokens["admin_a"], action="user.created")
    assert found["totalCount"] == 1
    event = found["nodes"][0]
    assert {k: v for k, v in event.items() if k not in ("id", "createdAt")} == {
        "action": "user.created",
        "actor": "admin@a.example",  # who
        "targetType": "User",  # what
        "targetId": created["user"]["id"],
        "details": {"email": "new@a1.example", "roles": ["USER"]},
        "clientAddress": "127.0.0.1",  # from where (httpx's ASGI transport)
        "organisation": {"name": "Tenant A1"},  # whose history it belongs to
    }
    assert before <= datetime.fromisoformat(event["createdAt"]) <= after  # when
    (row,) = [r for r in await all_rows(runtime) if r.action == "user.created"]
    assert row.actor_user_id == world.users["admin_a"].id
    assert event["id"] == to_global_id("AuditEvent", row.id)
    # the event is a node the admin can fetch again
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on AuditEvent { action } } }",
        {"id": event["id"]},
        token=world.tokens["admin_a"],
    )
    assert node["data"]["node"] == {"action": "user.created"}


def admin_steps(world, b_uuid: str) -> list[tuple[str, str, str, dict]]:
    """(expected action, mutation, input type, input) of the admin's mutations, in order."""
    user_a = world.id("User", "user_a")
    return [
        (
            "user.created",
            "userCreate",
            "UserCreateInput",
            {"name": "N", "email": "n@a.example", "password": NEW_PASSWORD},
        ),
        ("user.updated", "userUpdate", "UserUpdateInput", {"id": user_a, "name": "Renamed"}),
        (
            "user.permissions_granted",
            "userPermissionsSet",
            "UserPermissionsSetInput",
            {"id": user_a, "permissions": ["AUDIT_READ"]},
        ),
        (
            "user.password_set_by_admin",
            "userPasswordSet",
            "UserPasswordSetInput",
            {"userId": user_a, "newPassword": ADMIN_SET_PASSWORD},
        ),
        ("user.deactivated", "userDeactivate", "UserIdInput", {"id": user_a}),
        ("user.reactivated", "userReactivate", "UserIdInput", {"id": user_a}),
        ("organisation.created", "organisationCreate", "OrganisationCreateInput", {"name": "Depot"}),
        (
            "organisation.updated",
            "organisationUpdate",
            "OrganisationUpdateInput",
            {"id": world.id("Organisation", "a1"), "name": "A1'"},
        ),
        ("partner.added", "partnerAdd", "PartnerInput", {"partnerOrganisationId": b_uuid}),
        ("partner.removed", "partnerRemove", "PartnerInput", {"partnerOrganisationId": b_uuid}),
        ("user_group.created", "userGroupCreate", "UserGroupCreateInput", {"name": "Crew", "memberIds": [user_a]}),
    ]


async def sign_in_fail_sign_out_and_change_password(gql, world, admin: str) -> None:
    """Sessions: a login, a failed login, a logout, then a password change: one event each."""
    # sessions: a login, a failed login, a logout
    login = await mutate(
        gql,
        None,
        "login",
        "LoginInput",
        {"email": "user@a1.example", "password": PASSWORD},
        "accessToken errors { code }",
    )
    assert (await actions(gql, admin))[0] == "user.login"
    await mutate(gql, None, "login", "LoginInput", {"email": "user@a1.example", "password": WRONG_PASSWORD})
    assert (await actions(gql, admin))[0] == "user.login_failed"
    await mutate(gql, login["accessToken"], "logout", "LogoutInput", {})
    assert (await actions(gql, admin))[0] == "user.logout"
    await mutate(
        gql,
        world.tokens["admin_a"],
        "passwordChange",
        "PasswordChangeInput",
        {"currentPassword": PASSWORD, "newPassword": CHANGED_PASSWORD},
    )
    assert (await actions(gql, admin))[0] == "user.password_changed"


async def test_each_action_writes_its_event(gql, world, runtime):
    admin = world.tokens["admin_a"]
    b_uuid = (await gql("{ organisations { nodes { organisationId } } }", token=world.tokens["admin_b"]))["data"][
        "organisations"
    ]["nodes"][0]["organisationId"]
    user_a = world.id("User", "user_a")
    steps = admin_steps(world, b_uuid)
    for expected, name, input_type, values in steps:
        result = await mutate(gql, admin, name, input_type, values)
        assert result["errors"] == [], (name, result)
        assert (await actions(gql, admin))[0] == expected, name
    group_id = (await gql("{ userGroups { nodes { id } } }", token=admin))["data"]["userGroups"]["nodes"][0]["id"]
    for expected, name, input_type, values in [
        ("user_group.updated", "userGroupUpdate", "UserGroupUpdateInput", {"id": group_id, "memberIds": []}),
        ("user_group.deleted", "userGroupDelete", "UserGroupIdInput", {"id": group_id}),
        ("user.deleted", "userDelete", "UserIdInput", {"id": user_a}),
    ]:
        assert (await mutate(gql, admin, name, input_type, values))["errors"] == []
        assert (await actions(gql, admin))[0] == expected, name
    await sign_in_fail_sign_out_and_change_password(gql, world, admin)
    # newest first, one event per action
    assert len(await actions(gql, admin)) == len(steps) + 3 + 4


async def test_refused_actions_write_no_event(gql, world, runtime):
    before = len(await all_rows(runtime))
    admin = world.tokens["admin_a"]
    refused = [
        ("userCreate", "UserCreateInput", {"name": "N", "email": "user@a.example", "password": NEW_PASSWORD}),
        ("userUpdate", "UserUpdateInput", {"id": world.id("User", "user_a"), "name": ""}),
        ("userDeactivate", "UserIdInput", {"id": world.id("User", "user_b")}),
        ("organisationCreate", "OrganisationCreateInput", {"name": "X", "parentId": world.id("Organisation", "a1")}),
        ("userGroupCreate", "UserGroupCreateInput", {"name": "G", "memberIds": [world.id("User", "user_b")]}),
    ]
    for name, input_type, values in refused:
        assert (await mutate(gql, admin, name, input_type, values))["errors"], name
    assert len(await all_rows(runtime)) == before


# --- who may read what ----------------------------------------------------------------------------------


async def test_admins_read_their_subtree_only(gql, world, runtime):
    await mutate(
        gql,
        world.tokens["admin_a"],
        "userUpdate",
        "UserUpdateInput",
        {"id": world.id("User", "user_a1"), "name": "In A1"},
    )
    await mutate(
        gql,
        world.tokens["admin_a"],
        "userUpdate",
        "UserUpdateInput",
        {"id": world.id("User", "user_a"), "name": "In A"},
    )
    await mutate(
        gql,
        world.tokens["admin_b"],
        "userUpdate",
        "UserUpdateInput",
        {"id": world.id("User", "user_b"), "name": "In B"},
    )
    await mutate(gql, None, "login", "LoginInput", {"email": "nobody@nowhere.example", "password": WRONG_PASSWORD})

    a_view = await events(gql, world.tokens["admin_a"])
    assert [(n["action"], n["organisation"]["name"]) for n in a_view["nodes"]] == [
        ("user.updated", "Tenant A"),
        ("user.updated", "Tenant A1"),
    ]
    assert a_view["totalCount"] == 2
    b_view = await events(gql, world.tokens["admin_b"])
    assert [(n["action"], n["organisation"]["name"], n["actor"]) for n in b_view["nodes"]] == [
        ("user.updated", "Tenant B", "admin@b.example")
    ]
    # B cannot reach A's events by filter or by ID either
    assert (await events(gql, world.tokens["admin_b"], actor="admin@a.example"))["totalCount"] == 0
    node = await gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": a_view["nodes"][0]["id"]}, token=world.tokens["admin_b"]
    )
    assert node["data"]["node"] is None
    # someone of the child with AUDIT_READ sees the child's events only
    async with runtime.session_factory() as session, session.begin():
        session.add(m.UserPermission(user_id=world.users["user_a1"].id, permission=m.Permission.AUDIT_READ))
    a1_view = await events(gql, world.tokens["user_a1"])
    assert [n["organisation"]["name"] for n in a1_view["nodes"]] == ["Tenant A1"]
    # events of no organisation (a failed login for an unknown address) are the platform's
    platform_view = await events(gql, world.tokens["platform"])
    assert platform_view["totalCount"] == 4
    assert (
        platform_view["nodes"][0]["action"] == "user.login_failed" and platform_view["nodes"][0]["organisation"] is None
    )


async def test_plain_users_and_anonymous_cannot_read(gql, world):
    await mutate(
        gql, world.tokens["admin_a"], "userUpdate", "UserUpdateInput", {"id": world.id("User", "user_a"), "name": "X"}
    )
    assert codes(await gql(EVENTS, {}, token=world.tokens["user_a"])) == ["FORBIDDEN"]
    assert codes(await gql(EVENTS, {})) == ["UNAUTHENTICATED"]
    event_id = (await events(gql, world.tokens["admin_a"]))["nodes"][0]["id"]
    node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": event_id}, token=world.tokens["user_a"])
    assert codes(node) == ["FORBIDDEN"]


async def test_filter_by_action_and_actor(gql, world):
    admin = world.tokens["admin_a"]
    for name in ("One", "Two"):
        await mutate(gql, admin, "userGroupCreate", "UserGroupCreateInput", {"name": name})
    await mutate(gql, admin, "userUpdate", "UserUpdateInput", {"id": world.id("User", "user_a"), "name": "X"})
    await mutate(
        gql, world.tokens["user_a"], "userUpdate", "UserUpdateInput", {"id": world.id("User", "user_a"), "name": "Y"}
    )
    assert await actions(gql, admin, action="user_group.created") == ["user_group.created"] * 2
    assert await actions(gql, admin, action="user_group") == []  # exact, not a prefix
    assert await actions(gql, admin, action="user.updated") == ["user.updated"] * 2
    mine = await events(gql, admin, action="user.updated", actor="USER@A")
    assert [n["actor"] for n in mine["nodes"]] == ["user@a.example"] and mine["totalCount"] == 1


# --- no secrets ---------------------------------------------------------------------------------------


async def create_set_passwords_and_log_in(gql, admin: str, secrets: list[str]) -> dict:
    """A user created and given passwords (one refused as weak), a failed login, then a good one; every
    password and token used is added to `secrets`."""
    created = await mutate(
        gql,
        admin,
        "userCreate",
        "UserCreateInput",
        {"name": "Fresh", "email": "fresh@a.example", "password": NEW_PASSWORD},
        "user { id } errors { code }",
    )
    fresh_id = created["user"]["id"]
    # a weak password refused: it must not be recorded either
    weak = "Weakling1!"
    secrets.append(weak)
    assert (
        await mutate(gql, admin, "userPasswordSet", "UserPasswordSetInput", {"userId": fresh_id, "newPassword": weak})
    )["errors"]
    assert (
        await mutate(
            gql,
            admin,
            "userPasswordSet",
            "UserPasswordSetInput",
            {"userId": fresh_id, "newPassword": ADMIN_SET_PASSWORD},
        )
    )["errors"] == []
    # a failed login with a wrong password, then a good one
    await mutate(gql, None, "login", "LoginInput", {"email": "fresh@a.example", "password": WRONG_PASSWORD})
    login = await mutate(
        gql,
        None,
        "login",
        "LoginInput",
        {"email": "fresh@a.example", "password": ADMIN_SET_PASSWORD},
        "accessToken refreshToken errors { code }",
    )
    secrets += [login["accessToken"], login["refreshToken"]]
    return login


async def refresh_change_enrol_and_log_out(gql, login: dict, secrets: list[str]) -> None:
    """A token refresh, a password change (and a refused one), a two-factor enrolment, a logout and a reused
    refresh token; every token and secret seen is added to `secrets`."""
    refreshed = await mutate(
        gql,
        None,
        "tokenRefresh",
        "TokenRefreshInput",
        {"refreshToken": login["refreshToken"]},
        "accessToken refreshToken errors { code }",
    )
    secrets += [refreshed["accessToken"], refreshed["refreshToken"]]
    changed = await mutate(
        gql,
        refreshed["accessToken"],
        "passwordChange",
        "PasswordChangeInput",
        {"currentPassword": ADMIN_SET_PASSWORD, "newPassword": CHANGED_PASSWORD},
    )
    assert changed["errors"] == []
    wrong_current = await mutate(
        gql,
        refreshed["accessToken"],
        "passwordChange",
        "PasswordChangeInput",
        {"currentPassword": WRONG_PASSWORD, "newPassword": NEW_PASSWORD + "x"},
    )
    assert wrong_current["errors"]
    enrol = await mutate(
        gql,
        refreshed["accessToken"],
        "twoFactorEnrol",
        "TwoFactorEnrolInput",
        {"password": CHANGED_PASSWORD},
        "secret provisioningUri errors { code }",
    )
    assert enrol["secret"]
    secrets += [enrol["secret"], enrol["provisioningUri"]]
    await mutate(gql, refreshed["accessToken"], "logout", "LogoutInput", {"allSessions": True})
    # a reused refresh token is an event of its own
    await mutate(
        gql, None, "tokenRefresh", "TokenRefreshInput", {"refreshToken": login["refreshToken"]}, "errors { code }"
    )


async def test_no_password_or_token_is_ever_recorded(gql, world, runtime):
    secrets: list[str] = [
        PASSWORD,
        NEW_PASSWORD,
        ADMIN_SET_PASSWORD,
        CHANGED_PASSWORD,
        WRONG_PASSWORD,
        *world.tokens.values(),
    ]
    admin = world.tokens["admin_a"]

    login = await create_set_passwords_and_log_in(gql, admin, secrets)
    await refresh_change_enrol_and_log_out(gql, login, secrets)

    async with runtime.session_factory() as session:
        stored = [row.password_hash for row in (await session.scalars(select(m.User))).all() if row.password_hash]
        stored += [row.token_hash for row in (await session.scalars(select(m.AuthToken))).all()]
    secrets += stored + [hashlib.sha256(s.encode()).hexdigest() for s in secrets]

    rows = await all_rows(runtime)
    recorded = {row.action for row in rows}
    # the run really produced these events, so the check below covers them
    assert {
        "user.created",
        "user.password_set_by_admin",
        "user.login_failed",
        "user.login",
        "token.refresh_reuse_detected",
        "user.password_changed",
        "user.two_factor_enrolment_started",
        "user.logout",
    } <= recorded
    for row in rows:
        text = json.dumps({c.key: getattr(row, c.key) for c in AuditEvent.__table__.columns}, default=str)
        for secret in secrets:
            assert secret not in text, (row.action, secret)
    # and the same through the API
    through_api = json.dumps(await events(gql, world.tokens["platform"]))
    assert (await events(gql, world.tokens["platform"]))["totalCount"] == len(rows)
    for secret in secrets:
        assert secret not in through_api
