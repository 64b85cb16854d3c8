"""Recent authentication: sessionReauthenticate with the password or a TOTP code, throttled like logins."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pyotp
from sqlalchemy import select, update

from graph.auth import hash_token, new_token
from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from tests.factories import PASSWORD

REAUTH = """mutation($input: SessionReauthenticateInput!) {
  sessionReauthenticate(input: $input) { reauthenticatedAt errors { code field message } }
}"""
LONG_AGO = timedelta(hours=2)


async def age_tokens(runtime, user_id: int) -> None:
    """Every token of the user was authenticated two hours ago."""
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(m.AuthToken).where(m.AuthToken.user_id == user_id).values(authenticated_at=utcnow() - LONG_AGO)
        )


async def token_times(runtime, user_id: int) -> dict[str, object]:
    async with runtime.session_factory() as session:
        rows = (
            await session.execute(
                select(m.AuthToken.session_id, m.AuthToken.authenticated_at).where(m.AuthToken.user_id == user_id)
            )
        ).all()
    return {session_id: at for session_id, at in rows}


async def add_session(runtime, user_id: int) -> tuple[str, str]:
    """A second session (access and refresh token) of the user: (access token, session id)."""
    session_id = str(uuid.uuid4())
    access = new_token(m.TokenKind.ACCESS)
    now = utcnow()
    async with runtime.session_factory() as session, session.begin():
        for kind, token in ((m.TokenKind.ACCESS, access), (m.TokenKind.REFRESH, new_token(m.TokenKind.REFRESH))):
            session.add(
                m.AuthToken(
                    user_id=user_id,
                    kind=kind,
                    token_hash=hash_token(token),
                    session_id=session_id,
                    authenticated_at=now - LONG_AGO,
                    expires_at=now + timedelta(hours=1),
                )
            )
    return access, session_id


async def actions(runtime) -> list[str]:
    async with runtime.session_factory() as session:
        return list((await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all())


async def test_password_renews_only_this_sessions_tokens(gql, world, runtime):
    user = world.users["admin_a"]
    await age_tokens(runtime, user.id)
    access, session_id = await add_session(runtime, user.id)
    other_sessions = await token_times(runtime, user.id)

    result = (await gql(REAUTH, {"input": {"password": PASSWORD}}, token=access))["data"]["sessionReauthenticate"]
    assert result["errors"] == [] and result["reauthenticatedAt"] is not None

    after = await token_times(runtime, user.id)
    assert utcnow() - after[session_id] < timedelta(seconds=30)  # both tokens of this session (one session id)
    assert {k: v for k, v in after.items() if k != session_id} == {
        k: v for k, v in other_sessions.items() if k != session_id
    }
    async with runtime.session_factory() as session:
        renewed = (
            await session.scalars(
                select(m.AuthToken.kind).where(
                    m.AuthToken.session_id == session_id, m.AuthToken.authenticated_at > utcnow() - timedelta(minutes=1)
                )
            )
        ).all()
    assert sorted(renewed) == [m.TokenKind.ACCESS, m.TokenKind.REFRESH]
    assert (await actions(runtime))[-1] == "user.reauthenticated"


async def test_wrong_password_is_counted_like_a_failed_login(gql, world, runtime):
    user = world.users["user_a"]
    await age_tokens(runtime, user.id)
    before = await token_times(runtime, user.id)
    token = world.tokens["user_a"]
    codes = []
    for _ in range(runtime.settings.login_slowdown_after + 1):
        result = (await gql(REAUTH, {"input": {"password": "Wrong-Password#1234"}}, token=token))["data"][
            "sessionReauthenticate"
        ]
        assert result["reauthenticatedAt"] is None
        codes.append(result["errors"][0]["code"])
    # the first failures are refused as wrong; then the account is slowed down like a login
    assert (
        codes[: runtime.settings.login_slowdown_after]
        == ["INVALID_CREDENTIALS"] * runtime.settings.login_slowdown_after
    )
    assert codes[-1] == "TOO_MANY_ATTEMPTS"
    # even the right password waits now (the same throttle as login)
    right = (await gql(REAUTH, {"input": {"password": PASSWORD}}, token=token))["data"]["sessionReauthenticate"]
    assert right["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    assert await token_times(runtime, user.id) == before
    async with runtime.session_factory() as session:
        throttle = await session.get(m.LoginThrottle, f"account:{user.email}")
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "user.reauthentication_failed"))
        ).all()
    assert throttle.failures == runtime.settings.login_slowdown_after
    assert len(events) == runtime.settings.login_slowdown_after
    assert all("Wrong-Password" not in str(e.details) for e in events)


async def test_neither_password_nor_code(gql, world):
    result = (await gql(REAUTH, {"input": {}}, token=world.tokens["user_a"]))["data"]["sessionReauthenticate"]
    assert [e["code"] for e in result["errors"]] == ["REQUIRED"]


async def test_not_logged_in(gql):
    response = await gql(REAUTH, {"input": {"password": PASSWORD}})
    assert response["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_totp_code_for_users_with_two_factor(gql, world, runtime):
    user = world.users["user_a"]
    secret = pyotp.random_base32()
    async with runtime.session_factory() as session, session.begin():
        row = await session.get(m.User, user.id)
        row.totp_secret_sealed = runtime.sealer.seal(secret.encode(), f"user:{user.id}:totp")
        row.totp_confirmed = True
    await age_tokens(runtime, user.id)
    token = world.tokens["user_a"]

    wrong = (
        await gql(
            REAUTH, {"input": {"otp": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"}}, token=token
        )
    )["data"]["sessionReauthenticate"]
    assert [e["code"] for e in wrong["errors"]] == ["INVALID_CREDENTIALS"]

    code = pyotp.TOTP(secret).now()
    result = (await gql(REAUTH, {"input": {"otp": code}}, token=token))["data"]["sessionReauthenticate"]
    assert result["errors"] == [] and result["reauthenticatedAt"] is not None
    # a code works once
    again = (await gql(REAUTH, {"input": {"otp": code}}, token=token))["data"]["sessionReauthenticate"]
    assert [e["code"] for e in again["errors"]] == ["INVALID_CREDENTIALS"]


async def test_a_code_without_two_factor_is_refused(gql, world, runtime):
    await age_tokens(runtime, world.users["user_b"].id)
    result = (await gql(REAUTH, {"input": {"otp": "123456"}}, token=world.tokens["user_b"]))["data"][
        "sessionReauthenticate"
    ]
    assert [e["code"] for e in result["errors"]] == ["INVALID_CREDENTIALS"]
    times = await token_times(runtime, world.users["user_b"].id)
    assert all(utcnow() - at > timedelta(hours=1) for at in times.values())
