"""Password policy, hashing, history, passwordChange and userPasswordSet."""

from __future__ import annotations

import gzip

import pytest
from sqlalchemy import select, update

from graph.demo import DEMO_USERS
from graph.passwords import BREACHED_LIST, breached_passwords, check_policy, hash_password, verify_password
from graph.relay import to_global_id
from models import identity as m
from models.audit import AuditEvent
from tests.factories import PASSWORD

STRONG = ["Kx9#mQ2vLp!w", "Zr7$Tn4wQe8@", "Correct-Horse#Battery9", "Tr0ub4dor&3xq"]
# passwords that meet the policy of tenant A (used in sequence: each must differ from the others)
NEW = ["Kx9#mQ2vLp!w", "Zr7$Tn4wQe8@", "Vb5&Yh2jKm9!", "Qw8*Fd3sGh6;", "Np4%Lk7rTx2?"]

LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
CHANGE = """
mutation($input: PasswordChangeInput!) {
  passwordChange(input: $input) { user { email } errors { code field message } }
}"""
ADMIN_SET = """
mutation($input: UserPasswordSetInput!) {
  userPasswordSet(input: $input) { user { email } errors { code field message } }
}"""
ORGANISATION_UPDATE = """
mutation($input: OrganisationUpdateInput!) {
  organisationUpdate(input: $input) { organisation { id } errors { code field message } }
}"""


def violations(password: str, **personal) -> set[str]:
    return {problem.code for problem in check_policy(password, **personal)}


# --- the policy as a function ---------------------------------------------------------------------------


@pytest.mark.parametrize("password", STRONG)
def test_strong_passwords_pass(password):
    assert check_policy(password, email="henrietta.smith@example.com", name="Henrietta Smith") == []


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Kx9#mQ2vLp!", "TOO_SHORT"),  # 11 characters
        ("kx9#mq2vlp!w", "NO_UPPERCASE"),
        ("KX9#MQ2VLP!W", "NO_LOWERCASE"),
        ("Kx#mQvLp!wzT", "NO_DIGIT"),
        ("Kx9mQ2vLpTw4", "NO_SPECIAL"),
        ("Kx9#mQ2vLp!wabc", "SEQUENCE"),
        ("Kx9#mQ2vLp!w321", "SEQUENCE"),
        ("Kx9#mQ2vLp!waaa", "SEQUENCE"),
        ("Kx9#mQ2vLp!wXYZ", "SEQUENCE"),  # case does not hide a run
        ("Password123!", "COMMON"),
        ("P@ssw0rd2024x", "COMMON"),
        ("Welcome2024!!", "COMMON"),
        ("Kx9#" + "x" * 125, "TOO_LONG"),
    ],
)
def test_each_rule_is_enforced(password, code):
    found = violations(password)
    assert code in found
    # the messages describe the rule, never the password
    for problem in check_policy(password):
        assert password not in problem.message


def test_one_problem_per_broken_rule():
    assert violations("abc") == {"TOO_SHORT", "NO_UPPERCASE", "NO_DIGIT", "NO_SPECIAL", "SEQUENCE"}


def test_passwords_with_the_users_name_or_email_are_refused():
    personal = dict(email="henrietta.smith@example.com", name="Henrietta Smith")
    assert "COMMON" in violations("Kx9#Henrietta!w", **personal)
    assert "COMMON" in violations("Kx9#SMITHw!q2", **personal)
    assert "COMMON" in violations("Kx9#example!w", **personal)  # the e-mail's domain is personal too
    # the same shape without a personal part is fine, and short fragments do not count
    assert violations("Kx9#Fjordbuq!w", **personal) == set()
    assert violations("Kx9#coMw!q2Tz", email="co@x.example", name="Co") == set()


# Common passwords with the decorations that get them past composition rules (issue 11).
DECORATED = ["Letmein!2024x", "Welcome1!Welcome1!", "Trustno1!Trustno1", "Football#2024x", "Fleetgraph2024!"]
#: The demo's organisations by the keys of graph.demo.DEMO_USERS.
DEMO_ORGANISATIONS = {
    "platform": "fleetgraph Platform",
    "integra": "IntegraDemo",
    "service": "IntegraDemo Service",
    "partner": "Partner Metering GmbH",
}


def test_the_breached_password_list_is_large():
    with gzip.open(BREACHED_LIST, "rt", encoding="utf-8", errors="replace") as lines:
        shipped = [line.rstrip("\r\n") for line in lines]
    assert len(shipped) >= 100_000
    breached = breached_passwords()
    assert len(breached) >= 100_000, "fewer than 100,000 different passwords are looked up"
    # all of it is loaded, the far end of the file too, and in lower case
    assert all(password.lower() in breached for password in shipped[100_000:100_200] + shipped[-200:])
    assert "letmein" in breached and "trustno1" in breached
    assert "wasser-zaehler" not in breached and "kx9#mq2vlp!w" not in breached


@pytest.mark.parametrize("password", DECORATED)
def test_decorated_common_passwords_are_refused(password):
    # they pass every other rule: only the breached list, decorations stripped, refuses them
    assert violations(password) == {"COMMON"}


@pytest.mark.parametrize("password", ["Fl33tgraph#2024", "2024!Fleetgraph!", "FleetgraphFleetgraph7!"])
def test_the_products_name_with_decorations_is_refused(password):
    assert "COMMON" in violations(password)


def test_the_organisations_name_with_decorations_is_refused():
    organisation = "Wolkenkuckucksheim Energie"
    assert violations("Wolkenkuckucksheim!2025", organisation=organisation) == {"COMMON"}
    assert violations("Wolkenkuckucksheim!2025") == set(), "only the organisation's name makes it weak"
    # a name beside a random part is fine
    assert violations("Fleetgraph#Kx9mQ2") == set()
    assert violations("Wolken#Kx9mQ2", organisation=organisation) == set()


def test_the_demo_and_test_passwords_pass():
    for key, name, email, password, _ in DEMO_USERS:
        assert check_policy(password, email=email, name=name, organisation=DEMO_ORGANISATIONS[key]) == [], password
    assert check_policy(PASSWORD, email="user@a.example", name="User", organisation="Tenant A") == []


def test_minimum_length_is_a_parameter():
    assert "TOO_SHORT" in violations("Kx9#mQ2vLp!wRt7", min_length=16)
    assert "TOO_SHORT" not in violations("Kx9#mQ2vLp!wRt7z", min_length=16)


def test_hashes_are_argon2id():
    stored = hash_password("Kx9#mQ2vLp!w")
    assert stored.startswith("$argon2id$")
    assert "Kx9#mQ2vLp!w" not in stored
    assert verify_password(stored, "Kx9#mQ2vLp!w")
    assert not verify_password(stored, "Kx9#mQ2vLp!W")
    assert not verify_password(None, "Kx9#mQ2vLp!w")
    assert not verify_password("not a hash", "Kx9#mQ2vLp!w")


# --- through the API ---------------------------------------------------------------------------------------


async def call(gql, query: str, input: dict, token: str | None, *secrets: str) -> dict:
    response = await gql.raw(query, {"input": input}, token=token)
    assert response.status_code == 200, response.text
    for secret in secrets:
        assert secret not in response.text, "a password or token was echoed"
    return response.json()


async def change(gql, token: str, current: str, new: str) -> dict:
    result = await call(gql, CHANGE, {"currentPassword": current, "newPassword": new}, token, current, new, token)
    return result["data"]["passwordChange"]


async def can_login(gql, email: str, password: str) -> bool:
    result = await call(gql, LOGIN, {"email": email, "password": password}, None, password)
    return result["data"]["login"]["accessToken"] is not None


async def can_read_me(gql, token: str) -> bool:
    response = await gql.raw("{ me { email } }", token=token)
    assert response.status_code == 200 and token not in response.text
    result = response.json()
    return result.get("data") is not None and result["data"]["me"] is not None


async def stored_hash(runtime, user_id: int) -> str:
    async with runtime.session_factory() as session:
        return await session.scalar(select(m.User.password_hash).where(m.User.id == user_id))


async def update_organisation(gql, world, token: str, **fields) -> None:
    result = await gql(ORGANISATION_UPDATE, {"input": {"id": world.id("Organisation", "a"), **fields}}, token=token)
    assert result["data"]["organisationUpdate"]["errors"] == [], result


async def test_password_change_sets_an_argon2id_hash(gql, world, runtime):
    before = await stored_hash(runtime, world.users["user_a"].id)
    payload = await change(gql, world.tokens["user_a"], PASSWORD, NEW[0])
    assert payload == {"user": {"email": "user@a.example"}, "errors": []}
    after = await stored_hash(runtime, world.users["user_a"].id)
    assert after != before and after.startswith("$argon2id$") and NEW[0] not in after
    assert await can_login(gql, "user@a.example", NEW[0])
    assert not await can_login(gql, "user@a.example", PASSWORD)
    async with runtime.session_factory() as session:
        events = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_changed"))).all()
    assert [(e.target_id, e.actor_user_id) for e in events] == [(world.users["user_a"].id,) * 2]
    assert NEW[0] not in str(events[0].details) and PASSWORD not in str(events[0].details)


async def test_password_change_needs_the_current_password(gql, world, runtime):
    before = await stored_hash(runtime, world.users["user_a"].id)
    payload = await change(gql, world.tokens["user_a"], "Not-The#Current9", NEW[0])
    assert payload["user"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_CREDENTIALS", ["currentPassword"])]
    assert await stored_hash(runtime, world.users["user_a"].id) == before
    assert await can_read_me(gql, world.tokens["user_a"])  # nothing revoked either


async def test_password_change_needs_a_login(gql, world):
    result = await call(gql, CHANGE, {"currentPassword": PASSWORD, "newPassword": NEW[0]}, None, PASSWORD, NEW[0])
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


WEAK = [
    "Kx9#mQ2vLp!",
    "kx9#mq2vlp!w",
    "KX9#MQ2VLP!W",
    "Kx#mQvLp!wzT",
    "Kx9mQ2vLpTw4",
    "Password123!",
    "P@ssw0rd2024x",
    "Kx9#mQ2vLp!wabc",
    "Kx9#mQ2vLp!w321",
    "Kx9#mQ2vLp!waaa",
    "Kx9#userq!Lp2",
]  # the last holds user@a.example's "user"


async def test_weak_password_changes_nothing(gql, world, runtime):
    other_session = await call(gql, LOGIN, {"email": "user@a.example", "password": PASSWORD}, None, PASSWORD)
    other_token = other_session["data"]["login"]["accessToken"]
    before = await stored_hash(runtime, world.users["user_a"].id)
    for weak in WEAK:
        payload = await change(gql, world.tokens["user_a"], PASSWORD, weak)
        assert payload["user"] is None, weak
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("WEAK_PASSWORD", ["newPassword"])], weak
        assert await stored_hash(runtime, world.users["user_a"].id) == before, weak
    assert await can_login(gql, "user@a.example", PASSWORD)
    assert not await can_login(gql, "user@a.example", WEAK[0])
    assert await can_read_me(gql, other_token), "a refused change must not end other sessions"
    async with runtime.session_factory() as session:
        history = (
            await session.scalars(
                select(m.PasswordHistory).where(m.PasswordHistory.user_id == world.users["user_a"].id)
            )
        ).all()
    assert history == []


async def test_decorated_common_passwords_are_refused_through_the_api(gql, world, runtime):
    before = await stored_hash(runtime, world.users["user_a"].id)
    for password in DECORATED:
        payload = await change(gql, world.tokens["user_a"], PASSWORD, password)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("WEAK_PASSWORD", ["newPassword"])], password
        assert password not in payload["errors"][0]["message"]
    assert await stored_hash(runtime, world.users["user_a"].id) == before


async def test_the_users_organisation_name_counts(gql, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(m.Organisation)
            .where(m.Organisation.id == world.organisations["a"].id)
            .values(name="Wolkenkuckucksheim Energie")
        )
    payload = await change(gql, world.tokens["user_a"], PASSWORD, "Wolkenkuckucksheim!2025")
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("WEAK_PASSWORD", ["newPassword"])]
    # for a user of another organisation it is just a word
    assert (await change(gql, world.tokens["user_b"], PASSWORD, "Wolkenkuckucksheim!2025"))["errors"] == []


async def test_password_change_ends_other_sessions_but_keeps_this_one(gql, world):
    other = await call(gql, LOGIN, {"email": "user@a.example", "password": PASSWORD}, None, PASSWORD)
    other_token = other["data"]["login"]["accessToken"]
    assert await can_read_me(gql, other_token)
    assert (await change(gql, world.tokens["user_a"], PASSWORD, NEW[0]))["errors"] == []
    assert await can_read_me(gql, world.tokens["user_a"])
    assert not await can_read_me(gql, other_token)
    assert await can_read_me(gql, world.tokens["admin_a"])  # other users are untouched


async def test_organisation_minimum_length_is_enforced(gql, world):
    await update_organisation(gql, world, world.tokens["admin_a"], passwordMinLength=16)
    fifteen, sixteen = "Kx9#mQ2vLp!wRt7", "Kx9#mQ2vLp!wRt7z"
    payload = await change(gql, world.tokens["user_a"], PASSWORD, fifteen)
    assert [e["code"] for e in payload["errors"]] == ["WEAK_PASSWORD"]
    assert "16" in payload["errors"][0]["message"]
    assert (await change(gql, world.tokens["user_a"], PASSWORD, sixteen))["errors"] == []
    # the child organisation keeps its own (default) setting
    assert (await change(gql, world.tokens["user_a1"], PASSWORD, fifteen))["errors"] == []


async def test_organisation_minimum_length_has_bounds(gql, world):
    for value in (11, 129):
        result = await gql(
            ORGANISATION_UPDATE,
            {"input": {"id": world.id("Organisation", "a"), "passwordMinLength": value}},
            token=world.tokens["admin_a"],
        )
        assert [e["code"] for e in result["data"]["organisationUpdate"]["errors"]] == ["INVALID"]


async def test_password_history_refuses_recent_passwords(gql, world, runtime):
    await update_organisation(gql, world, world.tokens["admin_a"], passwordHistory=2)
    token = world.tokens["user_a"]
    current = PASSWORD
    for new in NEW[:3]:
        assert (await change(gql, token, current, new))["errors"] == []
        current = new
    # NEW[2] is current and NEW[1] came before it: both are among the last two
    for recent in (NEW[2], NEW[1]):
        before = await stored_hash(runtime, world.users["user_a"].id)
        payload = await change(gql, token, current, recent)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("PASSWORD_REUSED", ["newPassword"])]
        assert await stored_hash(runtime, world.users["user_a"].id) == before
    # NEW[0] is three passwords back: allowed with a history of two
    assert (await change(gql, token, current, NEW[0]))["errors"] == []
    assert await can_login(gql, "user@a.example", NEW[0])


async def test_password_history_of_zero_allows_reuse(gql, world):
    await update_organisation(gql, world, world.tokens["admin_a"], passwordHistory=0)
    assert (await change(gql, world.tokens["user_a"], PASSWORD, NEW[0]))["errors"] == []
    assert (await change(gql, world.tokens["user_a"], NEW[0], NEW[1]))["errors"] == []
    assert (await change(gql, world.tokens["user_a"], NEW[1], NEW[0]))["errors"] == []


async def test_admin_sets_a_password_without_the_old_one(gql, world, runtime):
    result = await call(
        gql, ADMIN_SET, {"userId": world.id("User", "user_a"), "newPassword": NEW[0]}, world.tokens["admin_a"], NEW[0]
    )
    assert result["data"]["userPasswordSet"] == {"user": {"email": "user@a.example"}, "errors": []}
    assert (await stored_hash(runtime, world.users["user_a"].id)).startswith("$argon2id$")
    assert await can_login(gql, "user@a.example", NEW[0])
    assert not await can_login(gql, "user@a.example", PASSWORD)
    # the user's sessions end; the admin's does not
    assert not await can_read_me(gql, world.tokens["user_a"])
    assert await can_read_me(gql, world.tokens["admin_a"])
    # also for a user of a child organisation
    result = await call(
        gql, ADMIN_SET, {"userId": world.id("User", "user_a1"), "newPassword": NEW[1]}, world.tokens["admin_a"], NEW[1]
    )
    assert result["data"]["userPasswordSet"]["errors"] == []


async def test_admin_set_password_follows_the_policy(gql, world, runtime):
    before = await stored_hash(runtime, world.users["user_a"].id)
    result = await call(
        gql,
        ADMIN_SET,
        {"userId": world.id("User", "user_a"), "newPassword": "Password123!"},
        world.tokens["admin_a"],
        "Password123!",
    )
    assert [e["code"] for e in result["data"]["userPasswordSet"]["errors"]] == ["WEAK_PASSWORD"]
    assert await stored_hash(runtime, world.users["user_a"].id) == before
    assert await can_read_me(gql, world.tokens["user_a"])


async def test_admin_cannot_set_the_password_of_another_tenants_user(gql, world, runtime):
    before = await stored_hash(runtime, world.users["user_b"].id)
    other_tenant = await call(
        gql, ADMIN_SET, {"userId": world.id("User", "user_b"), "newPassword": NEW[0]}, world.tokens["admin_a"], NEW[0]
    )
    unknown = await call(
        gql,
        ADMIN_SET,
        {"userId": to_global_id("User", 999_999), "newPassword": NEW[0]},
        world.tokens["admin_a"],
        NEW[0],
    )
    refused = other_tenant["data"]["userPasswordSet"]
    assert refused["user"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["userId"])]
    assert refused == unknown["data"]["userPasswordSet"], "another tenant's user must read like an unknown one"
    assert await stored_hash(runtime, world.users["user_b"].id) == before
    assert await can_login(gql, "user@b.example", PASSWORD)
    assert await can_read_me(gql, world.tokens["user_b"])


async def test_a_plain_user_cannot_set_passwords(gql, world, runtime):
    before = await stored_hash(runtime, world.users["admin_a"].id)
    result = await call(
        gql, ADMIN_SET, {"userId": world.id("User", "admin_a"), "newPassword": NEW[0]}, world.tokens["user_a"], NEW[0]
    )
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await stored_hash(runtime, world.users["admin_a"].id) == before


async def test_a_user_manager_cannot_take_over_an_admin(gql, world, runtime):
    # user_a is given USERS_MANAGE but not the admin's other permissions
    async with runtime.session_factory() as session, session.begin():
        session.add(m.UserPermission(user_id=world.users["user_a"].id, permission=m.Permission.USERS_MANAGE))
    before = await stored_hash(runtime, world.users["admin_a"].id)
    result = await call(
        gql, ADMIN_SET, {"userId": world.id("User", "admin_a"), "newPassword": NEW[0]}, world.tokens["user_a"], NEW[0]
    )
    refused = result["data"]["userPasswordSet"]
    assert refused["user"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_ALLOWED", ["userId"])]
    assert await stored_hash(runtime, world.users["admin_a"].id) == before
    assert await can_read_me(gql, world.tokens["admin_a"])
    # a user with no more rights than the manager is fine
    result = await call(
        gql, ADMIN_SET, {"userId": world.id("User", "user_a1"), "newPassword": NEW[0]}, world.tokens["user_a"], NEW[0]
    )
    assert result["data"]["userPasswordSet"]["errors"] == []
