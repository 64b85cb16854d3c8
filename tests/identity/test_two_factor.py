"""TOTP two-factor: enrolment, confirmation, login with codes, single use, sealing, required 2FA."""

from __future__ import annotations

import base64
import time

import pyotp
import pytest
from sqlalchemy import select, update

from graph.secrets import SecretError
from models import identity as m
from models.audit import AuditEvent
from tests.factories import PASSWORD
from tests.identity.two_factor_helpers import CONFIRM, ENROL, call, enrol, fresh_code

LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken errors { code field message } }
}"""
DISABLE = """
mutation($input: TwoFactorDisableInput!) {
  twoFactorDisable(input: $input) { user { email twoFactorEnabled } errors { code field message } }
}"""
ORGANISATION_UPDATE = """
mutation($input: OrganisationUpdateInput!) {
  organisationUpdate(input: $input) { organisation { id } errors { code field message } }
}"""
ME = "{ me { email twoFactorEnabled twoFactorRequired } }"
USERS = "{ users { totalCount } }"


async def login(gql, email: str, otp: str | None = None, password: str = PASSWORD) -> dict:
    result = await call(gql, LOGIN, {"email": email, "password": password, "otp": otp}, None, password)
    return result["data"]["login"]


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def wrong_code(secret: str) -> str:
    """A 6-digit code that is valid for no step the server would accept now."""
    totp = pyotp.TOTP(secret)
    now = int(time.time() // totp.interval)
    valid = {totp.at(step * totp.interval) for step in range(now - 2, now + 3)}
    return next(code for code in (f"{n:06d}" for n in range(123456, 1_000_000, 7919)) if code not in valid)


async def require_two_factor_in_tenant_a(gql, world) -> None:
    result = await gql(
        ORGANISATION_UPDATE,
        {"input": {"id": world.id("Organisation", "a"), "requireTwoFactor": True}},
        token=world.tokens["admin_a"],
    )
    assert result["data"]["organisationUpdate"]["errors"] == []


# --- enrolment -----------------------------------------------------------------------------------------------


async def test_enrol_returns_a_provisioning_uri_and_secret(gql, world):
    payload = (await call(gql, ENROL, {"password": PASSWORD}, world.tokens["user_a"], PASSWORD))["data"][
        "twoFactorEnrol"
    ]
    assert payload["errors"] == []
    uri, secret = payload["provisioningUri"], payload["secret"]
    assert uri.startswith("otpauth://totp/")
    assert len(base64.b32decode(secret)) >= 16  # at least 128 bits
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == secret
    assert parsed.issuer == "fleetgraph" and parsed.name == "user@a.example"
    # enrolment alone does not turn two-factor on
    me = (await call(gql, ME, None, world.tokens["user_a"]))["data"]["me"]
    assert me["twoFactorEnabled"] is False
    assert (await login(gql, "user@a.example"))["accessToken"]


async def test_enrol_needs_the_password(gql, world, runtime):
    wrong = "Not-The#Current9"
    payload = (await call(gql, ENROL, {"password": wrong}, world.tokens["user_a"], wrong))["data"]["twoFactorEnrol"]
    assert payload["secret"] is None and payload["provisioningUri"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_CREDENTIALS", ["password"])]
    async with runtime.session_factory() as session:
        assert (
            await session.scalar(select(m.User.totp_secret_sealed).where(m.User.id == world.users["user_a"].id)) is None
        )


async def test_enrol_needs_a_login(gql, world):
    result = await call(gql, ENROL, {"password": PASSWORD}, None, PASSWORD)
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_confirm_before_enrol_and_with_a_wrong_code(gql, world, runtime):
    token = world.tokens["user_a"]
    early = (await call(gql, CONFIRM, {"code": "123456"}, token))["data"]["twoFactorConfirm"]
    assert codes(early) == ["TWO_FACTOR_NOT_ENROLLED"]
    secret = (await call(gql, ENROL, {"password": PASSWORD}, token, PASSWORD))["data"]["twoFactorEnrol"]["secret"]
    for bad in [wrong_code(secret), "12345", "abcdef", "1234567", ""]:
        refused = (await call(gql, CONFIRM, {"code": bad}, token))["data"]["twoFactorConfirm"]
        assert refused["user"] is None and codes(refused) == ["INVALID_TWO_FACTOR_CODE"], bad
    async with runtime.session_factory() as session:
        assert await session.scalar(select(m.User.totp_confirmed).where(m.User.id == world.users["user_a"].id)) is False
    assert (await login(gql, "user@a.example"))["accessToken"], "an unconfirmed enrolment must not need a code"


async def test_totp_secret_is_stored_sealed(gql, world, runtime):
    secret = await enrol(gql, runtime, world, "user_a")
    user_id = world.users["user_a"].id
    async with runtime.engine.connect() as connection:
        row = (await connection.exec_driver_sql(f"SELECT * FROM app_user WHERE id = {int(user_id)}")).one()
    dump = repr(tuple(row)).encode() + b"".join(v for v in row if isinstance(v, bytes | memoryview))
    raw = base64.b32decode(secret)
    assert secret.encode() not in dump and secret.lower().encode() not in dump and raw not in dump
    async with runtime.session_factory() as session:
        sealed = await session.scalar(select(m.User.totp_secret_sealed).where(m.User.id == user_id))
    assert runtime.sealer.open(sealed, f"user:{user_id}:totp").decode() == secret
    # bound to its user: the same ciphertext does not open as another user's secret
    with pytest.raises(SecretError):
        runtime.sealer.open(sealed, f"user:{world.users['user_b'].id}:totp")


# --- login with two-factor --------------------------------------------------------------------------------------


async def test_login_needs_a_valid_code_once_enabled(gql, world, runtime):
    secret = await enrol(gql, runtime, world, "user_a")
    user_id = world.users["user_a"].id

    missing = await login(gql, "user@a.example")
    assert missing["accessToken"] is None
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [("TWO_FACTOR_REQUIRED", ["otp"])]

    bad = wrong_code(secret)
    wrong = await login(gql, "user@a.example", bad)
    assert wrong["accessToken"] is None and codes(wrong) == ["INVALID_CREDENTIALS"]

    # a wrong password with a valid code is the same refusal, and does not use the code up
    code = await fresh_code(runtime, user_id, secret)
    wrong_password = await login(gql, "user@a.example", code, password="Not-The#Current9")
    assert codes(wrong_password) == ["INVALID_CREDENTIALS"]
    assert wrong_password["errors"] == wrong["errors"]

    good = await login(gql, "user@a.example", code)
    assert good["errors"] == [] and good["accessToken"] and good["refreshToken"]
    me = (await call(gql, ME, None, good["accessToken"], good["accessToken"]))["data"]["me"]
    assert me == {"email": "user@a.example", "twoFactorEnabled": True, "twoFactorRequired": False}

    async with runtime.session_factory() as session:
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert actions == [
        "user.two_factor_enrolment_started",
        "user.two_factor_enabled",
        "user.login_failed",
        "user.login_failed",
        "user.login",
    ]


async def test_a_code_is_accepted_once(gql, world, runtime):
    secret = await enrol(gql, runtime, world, "user_a")
    code = await fresh_code(runtime, world.users["user_a"].id, secret)
    assert (await login(gql, "user@a.example", code))["accessToken"]
    replay = await login(gql, "user@a.example", code)
    assert replay["accessToken"] is None and codes(replay) == ["INVALID_CREDENTIALS"]


async def test_the_confirmation_code_cannot_log_in(gql, world, runtime):
    payload = (await call(gql, ENROL, {"password": PASSWORD}, world.tokens["user_a"], PASSWORD))["data"][
        "twoFactorEnrol"
    ]
    code = await fresh_code(runtime, world.users["user_a"].id, payload["secret"])
    assert (await call(gql, CONFIRM, {"code": code}, world.tokens["user_a"]))["data"]["twoFactorConfirm"][
        "errors"
    ] == []
    assert codes(await login(gql, "user@a.example", code)) == ["INVALID_CREDENTIALS"]


async def test_re_enrolment_does_not_switch_two_factor_off(gql, world, runtime):
    """With two-factor on, a new enrolment must not quietly let logins through without a code."""
    secret = await enrol(gql, runtime, world, "user_a")
    again = (await call(gql, ENROL, {"password": PASSWORD}, world.tokens["user_a"], PASSWORD))["data"]["twoFactorEnrol"]
    assert again["secret"] is None and codes(again) == ["NOT_ALLOWED"]
    assert codes(await login(gql, "user@a.example")) == ["TWO_FACTOR_REQUIRED"]
    assert (await login(gql, "user@a.example", await fresh_code(runtime, world.users["user_a"].id, secret)))[
        "accessToken"
    ]


# --- disabling and requiring -------------------------------------------------------------------------------------


async def test_disable_needs_password_and_code(gql, world, runtime):
    secret = await enrol(gql, runtime, world, "user_a")
    token, user_id = world.tokens["user_a"], world.users["user_a"].id
    code = await fresh_code(runtime, user_id, secret)
    wrong_password = (await call(gql, DISABLE, {"password": "Not-The#Current9", "code": code}, token))["data"][
        "twoFactorDisable"
    ]
    assert codes(wrong_password) == ["INVALID_CREDENTIALS"]
    wrong = (await call(gql, DISABLE, {"password": PASSWORD, "code": wrong_code(secret)}, token, PASSWORD))["data"][
        "twoFactorDisable"
    ]
    assert codes(wrong) == ["INVALID_TWO_FACTOR_CODE"]
    assert codes(await login(gql, "user@a.example")) == ["TWO_FACTOR_REQUIRED"]

    done = (await call(gql, DISABLE, {"password": PASSWORD, "code": code}, token, PASSWORD))["data"]["twoFactorDisable"]
    assert done["errors"] == [] and done["user"]["twoFactorEnabled"] is False
    assert (await login(gql, "user@a.example"))["accessToken"]
    async with runtime.session_factory() as session:
        assert await session.scalar(select(m.User.totp_secret_sealed).where(m.User.id == user_id)) is None


async def test_required_two_factor_blocks_everything_but_enrolment(gql, world, runtime):
    await require_two_factor_in_tenant_a(gql, world)
    token = world.tokens["user_a"]
    blocked = await call(gql, USERS, None, token)
    assert blocked["data"] is None
    [error] = blocked["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["reason"] == "TWO_FACTOR_ENROLMENT_REQUIRED"
    # me and enrolment still work, and the login itself is not refused
    me = (await call(gql, ME, None, token))["data"]["me"]
    # required by the organisation's setting, not the user's own
    assert (me["email"], me["twoFactorEnabled"], me["twoFactorRequired"]) == ("user@a.example", False, True)
    assert (await login(gql, "user@a.example"))["accessToken"]
    # tenant B is not affected
    assert (await call(gql, USERS, None, world.tokens["user_b"]))["data"]["users"]["totalCount"] == 2

    secret = (await call(gql, ENROL, {"password": PASSWORD}, token, PASSWORD))["data"]["twoFactorEnrol"]["secret"]
    assert (await call(gql, USERS, None, token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    code = await fresh_code(runtime, world.users["user_a"].id, secret)
    assert (await call(gql, CONFIRM, {"code": code}, token))["data"]["twoFactorConfirm"]["errors"] == []
    # enrolled: the same token now reaches the users list
    assert (await call(gql, USERS, None, token))["data"]["users"]["totalCount"] >= 2


async def test_disable_is_refused_while_required(gql, world, runtime):
    secret = await enrol(gql, runtime, world, "user_a")
    await require_two_factor_in_tenant_a(gql, world)
    code = await fresh_code(runtime, world.users["user_a"].id, secret)
    refused = await call(gql, DISABLE, {"password": PASSWORD, "code": code}, world.tokens["user_a"], PASSWORD)
    assert refused["data"]["twoFactorDisable"]["user"] is None
    assert codes(refused["data"]["twoFactorDisable"]) == ["NOT_ALLOWED"]
    assert codes(await login(gql, "user@a.example")) == ["TWO_FACTOR_REQUIRED"]


async def test_required_per_user(gql, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(m.User).where(m.User.id == world.users["user_a"].id).values(require_two_factor=True)
        )
    blocked = await call(gql, USERS, None, world.tokens["user_a"])
    assert blocked["errors"][0]["extensions"]["reason"] == "TWO_FACTOR_ENROLMENT_REQUIRED"
    assert (await call(gql, USERS, None, world.tokens["admin_a"]))["data"]["users"]["totalCount"] >= 2
    secret = await enrol(gql, runtime, world, "user_a")
    code = await fresh_code(runtime, world.users["user_a"].id, secret)
    refused = await call(gql, DISABLE, {"password": PASSWORD, "code": code}, world.tokens["user_a"], PASSWORD)
    assert codes(refused["data"]["twoFactorDisable"]) == ["NOT_ALLOWED"]
