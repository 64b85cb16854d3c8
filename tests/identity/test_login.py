"""Login, bearer tokens, refresh rotation, logout, API users and login throttling."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta

from sqlalchemy import select, update

from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from tests.environment import app_client
from tests.factories import PASSWORD, add_user, issue_token

LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) {
    accessToken accessTokenExpiresAt refreshToken
    user { email }
    errors { code field message }
  }
}"""
REFRESH = """
mutation($input: TokenRefreshInput!) {
  tokenRefresh(input: $input) { accessToken refreshToken errors { code field message } }
}"""
LOGOUT = "mutation($input: LogoutInput!) { logout(input: $input) { errors { code } } }"
ME = "{ me { email } }"
WRONG = "Wrong-Horse#Battery9"


async def login(gql, email: str, password: str = PASSWORD, otp: str | None = None) -> dict:
    variables = {"input": {"email": email, "password": password, "otp": otp}}
    response = await gql.raw(LOGIN, variables)
    assert response.status_code == 200, response.text
    # whatever the outcome, the answer never echoes the password
    assert password not in response.text
    return response.json()["data"]["login"]


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]


async def me(gql, token: str) -> dict:
    response = await gql.raw(ME, token=token)
    assert response.status_code == 200, response.text
    assert token not in response.text, "the error text must not echo the token"
    return response.json()


def unauthenticated(result: dict) -> str:
    """The message of the UNAUTHENTICATED error of `result` (fails if there is none)."""
    assert result["data"] is None, result
    [error] = result["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED", error
    return error["message"]


async def tokens_of(runtime, user_id: int) -> list[m.AuthToken]:
    async with runtime.session_factory() as session:
        return list((await session.scalars(select(m.AuthToken).where(m.AuthToken.user_id == user_id))).all())


# --- login --------------------------------------------------------------------------------------------


async def test_login_returns_tokens_that_work_for_me(gql, world):
    payload = await login(gql, "user@a.example")
    assert payload["errors"] == []
    assert payload["user"] == {"email": "user@a.example"}
    assert payload["accessToken"].startswith("fga_") and payload["refreshToken"].startswith("fgr_")
    assert payload["accessTokenExpiresAt"]
    assert (await me(gql, payload["accessToken"]))["data"]["me"] == {"email": "user@a.example"}


async def test_login_email_is_case_and_space_insensitive(gql, world):
    payload = await login(gql, "  User@A.Example ")
    assert payload["errors"] == [] and payload["accessToken"]


async def test_wrong_password_unknown_email_and_deactivated_user_get_one_answer(gql, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == world.users["user_b"].id).values(is_active=False))
    wrong_password = await login(gql, "user@a.example", WRONG)
    unknown = await login(gql, "nobody@a.example")
    deactivated = await login(gql, "user@b.example")  # right password, but deactivated
    for payload in (wrong_password, unknown, deactivated):
        assert payload["accessToken"] is None and payload["refreshToken"] is None and payload["user"] is None
        assert codes(payload) == ["INVALID_CREDENTIALS"]
    # nothing tells the three cases apart
    assert wrong_password["errors"] == unknown["errors"] == deactivated["errors"]
    # login-issued tokens carry the client address (the fixture's tokens do not)
    async with runtime.session_factory() as session:
        issued = (await session.scalars(select(m.AuthToken).where(m.AuthToken.client_address != ""))).all()
    assert issued == [], "a refused login issued a token"


async def test_login_writes_audit_events(gql, world, runtime):
    await login(gql, "user@a.example")
    await login(gql, "user@a.example", WRONG)
    await login(gql, "nobody@a.example", WRONG)
    await login(gql, PASSWORD, WRONG)  # a password typed into the e-mail field
    async with runtime.session_factory() as session:
        events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    rows = [(e.action, e.actor_label, e.target_id, e.organisation_id, e.client_address) for e in events]
    user = world.users["user_a"]
    assert rows == [
        ("user.login", "user@a.example", user.id, user.organisation_id, "127.0.0.1"),
        ("user.login_failed", "user@a.example", user.id, user.organisation_id, "127.0.0.1"),
        # what was typed is recorded only when it is an account's address
        ("user.login_failed", "unknown account", None, None, "127.0.0.1"),
        ("user.login_failed", "unknown account", None, None, "127.0.0.1"),
    ]
    assert events[0].actor_user_id == user.id
    for event in events:
        assert PASSWORD not in f"{event.details} {event.actor_label}" and WRONG not in str(event.details)


# --- access tokens --------------------------------------------------------------------------------------


async def test_expired_token_is_unauthenticated(gql, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        expired = await issue_token(session, world.users["user_a"], ttl=-1)
    assert "expired" in unauthenticated(await me(gql, expired))


async def test_login_token_stops_working_once_expires_at_passes(gql, world, runtime):
    token = (await login(gql, "user@a.example"))["accessToken"]
    assert (await me(gql, token))["data"]["me"]
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(m.AuthToken)
            .where(m.AuthToken.token_hash == hashlib.sha256(token.encode()).hexdigest())
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert "expired" in unauthenticated(await me(gql, token))


async def test_revoked_token_is_unauthenticated(gql, world, runtime):
    token = world.tokens["user_a"]
    assert (await me(gql, token))["data"]["me"]
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.AuthToken).values(revoked_at=utcnow()))
    assert "revoked" in unauthenticated(await me(gql, token))


async def test_token_of_a_deactivated_user_is_unauthenticated(gql, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == world.users["user_a"].id).values(is_active=False))
    assert "deactivated" in unauthenticated(await me(gql, world.tokens["user_a"]))
    assert (await me(gql, world.tokens["admin_a"]))["data"]["me"]


async def test_malformed_and_oversized_bearer_tokens_are_unauthenticated(gql, client, world):
    valid = world.tokens["user_a"]
    for token in ["garbage", "fga_" + "A" * 43, valid + "x", valid[:-1], valid + "A" * 300, "x" * 10_000]:
        message = unauthenticated(await me(gql, token))
        assert "invalid" in message
    # not a bearer scheme, or no token at all: anonymous
    for header in [f"Basic {valid}", valid, "Bearer", "Bearer    "]:
        response = await client.post("/graphql", json={"query": ME}, headers={"Authorization": header})
        assert response.status_code == 200
        assert valid not in response.text
        unauthenticated(response.json())


async def test_refresh_token_is_not_an_access_token(gql, world):
    refresh_token = (await login(gql, "user@a.example"))["refreshToken"]
    assert "invalid" in unauthenticated(await me(gql, refresh_token))


async def test_tokens_are_stored_only_as_sha256(gql, world, runtime):
    payload = await login(gql, "user@a.example")
    access, refresh_token = payload["accessToken"], payload["refreshToken"]
    rows = await tokens_of(runtime, world.users["user_a"].id)
    hashes = {row.kind: row.token_hash for row in rows if row.client_address}
    assert hashes == {
        m.TokenKind.ACCESS: hashlib.sha256(access.encode()).hexdigest(),
        m.TokenKind.REFRESH: hashlib.sha256(refresh_token.encode()).hexdigest(),
    }
    # the raw token appears in no column of any row of the table
    async with runtime.engine.connect() as connection:
        raw_rows = (await connection.exec_driver_sql("SELECT * FROM auth_token")).all()
    dump = repr(raw_rows)
    assert access not in dump and refresh_token not in dump
    assert access.removeprefix("fga_") not in dump and refresh_token.removeprefix("fgr_") not in dump


# --- refresh, logout ----------------------------------------------------------------------------------------


async def test_token_refresh_rotates_and_reuse_ends_the_session(gql, world, runtime):
    first = await login(gql, "user@a.example")
    rotated = (await gql(REFRESH, {"input": {"refreshToken": first["refreshToken"]}}))["data"]["tokenRefresh"]
    assert rotated["errors"] == []
    assert rotated["accessToken"] not in (None, first["accessToken"])
    assert rotated["refreshToken"] not in (None, first["refreshToken"])
    assert (await me(gql, rotated["accessToken"]))["data"]["me"] == {"email": "user@a.example"}

    # the spent refresh token is refused, and seeing it again ends the whole session
    response = await gql.raw(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    assert first["refreshToken"] not in response.text
    reused = response.json()["data"]["tokenRefresh"]
    assert reused["accessToken"] is None and codes(reused) == ["INVALID_TOKEN"]
    assert "revoked" in unauthenticated(await me(gql, rotated["accessToken"]))
    assert "revoked" in unauthenticated(await me(gql, first["accessToken"]))
    again = (await gql(REFRESH, {"input": {"refreshToken": rotated["refreshToken"]}}))["data"]["tokenRefresh"]
    assert codes(again) == ["INVALID_TOKEN"]
    async with runtime.session_factory() as session:
        actions = (await session.scalars(select(AuditEvent.action))).all()
    assert "token.refresh_reuse_detected" in actions
    # another session of the same user is not affected
    assert (await me(gql, world.tokens["user_a"]))["data"]["me"]


async def test_token_refresh_refuses_unknown_oversized_and_expired_tokens(gql, world, runtime):
    payload = await login(gql, "user@a.example")
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(m.AuthToken)
            .where(m.AuthToken.token_hash == hashlib.sha256(payload["refreshToken"].encode()).hexdigest())
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    for token in ["fgr_unknown", "fgr_" + "x" * 500, payload["refreshToken"], payload["accessToken"]]:
        result = (await gql(REFRESH, {"input": {"refreshToken": token}}))["data"]["tokenRefresh"]
        assert result["accessToken"] is None and codes(result) == ["INVALID_TOKEN"], token[:8]


async def test_logout_revokes_this_session_only(gql, world):
    one = await login(gql, "user@a.example")
    two = await login(gql, "user@a.example")
    assert (await gql(LOGOUT, {"input": {}}, token=one["accessToken"]))["data"]["logout"]["errors"] == []
    assert "revoked" in unauthenticated(await me(gql, one["accessToken"]))
    refreshed = (await gql(REFRESH, {"input": {"refreshToken": one["refreshToken"]}}))["data"]["tokenRefresh"]
    assert codes(refreshed) == ["INVALID_TOKEN"]
    assert (await me(gql, two["accessToken"]))["data"]["me"]
    assert (await me(gql, world.tokens["user_a"]))["data"]["me"]


async def test_logout_all_sessions_revokes_every_token_of_the_user(gql, world):
    one = await login(gql, "user@a.example")
    two = await login(gql, "user@a.example")
    result = await gql(LOGOUT, {"input": {"allSessions": True}}, token=two["accessToken"])
    assert result["data"]["logout"]["errors"] == []
    for token in (one["accessToken"], two["accessToken"], world.tokens["user_a"]):
        assert "revoked" in unauthenticated(await me(gql, token))
    for refresh_token in (one["refreshToken"], two["refreshToken"]):
        refreshed = (await gql(REFRESH, {"input": {"refreshToken": refresh_token}}))["data"]["tokenRefresh"]
        assert codes(refreshed) == ["INVALID_TOKEN"]
    # other users keep their sessions
    assert (await me(gql, world.tokens["admin_a"]))["data"]["me"]


async def test_logout_needs_a_login(gql, world):
    unauthenticated(await gql(LOGOUT, {"input": {}}))


# --- API users ---------------------------------------------------------------------------------------------


async def _add_api_user(runtime, world) -> m.User:
    async with runtime.session_factory() as session, session.begin():
        return await add_user(session, world.organisations["a"], "api@a.example", [m.Role.API_USER])


async def _issued_lifetime(runtime, user_id: int) -> timedelta:
    [access] = [t for t in await tokens_of(runtime, user_id) if t.kind == m.TokenKind.ACCESS and t.client_address]
    # created_at is stamped after expires_at was computed, so this is never above the real lifetime
    return access.expires_at - access.created_at


async def test_api_user_gets_one_hour_access_token_and_no_refresh_token(gql, world, runtime, monkeypatch):
    api = await _add_api_user(runtime, world)
    # Settings are frozen; the running app reads runtime.settings per request, so swapping it is a real config change.
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, access_token_ttl=8 * 3600))
    payload = await login(gql, "api@a.example")
    assert payload["errors"] == [] and payload["accessToken"]
    assert payload["refreshToken"] is None
    assert timedelta(minutes=59) < await _issued_lifetime(runtime, api.id) <= timedelta(hours=1)
    assert [t.kind for t in await tokens_of(runtime, api.id) if t.client_address] == [m.TokenKind.ACCESS]
    assert (await me(gql, payload["accessToken"]))["data"]["me"] == {"email": "api@a.example"}

    # the longer setting did take effect for everyone else
    user = await login(gql, "user@a.example")
    assert user["refreshToken"]
    assert await _issued_lifetime(runtime, world.users["user_a"].id) > timedelta(hours=7)


async def test_api_user_token_is_not_longer_than_the_setting(gql, world, runtime, monkeypatch):
    api = await _add_api_user(runtime, world)
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, access_token_ttl=600))
    assert (await login(gql, "api@a.example"))["refreshToken"] is None
    assert timedelta(minutes=9) < await _issued_lifetime(runtime, api.id) <= timedelta(minutes=10)


# --- throttling ------------------------------------------------------------------------------------------------


async def _age_failures(runtime, seconds: int = 120) -> None:
    """Move every counter's last failure into the past.

    The back-off after `login_slowdown_after` failures is 2^(n - slowdown) seconds (at most 64 s before
    the lock); instead of sleeping through it, the test pretends the failures happened two minutes ago,
    which is still well inside `login_lock_seconds`, so the counters are not forgotten.
    """
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.LoginThrottle).values(last_failure_at=utcnow() - timedelta(seconds=seconds)))


async def _throttle(runtime) -> dict[str, tuple[int, bool]]:
    async with runtime.session_factory() as session:
        rows = (await session.scalars(select(m.LoginThrottle))).all()
    return {row.key: (row.failures, row.locked_until is not None) for row in rows}


class FromAddress:
    """Logins from another client address (the ASGI transport passes it to the app in-process)."""

    def __init__(self, app, address: str) -> None:
        self.http = app_client(app, client=(address, 40000))

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.http.aclose()

    async def login(self, email: str, password: str = PASSWORD) -> dict:
        response = await self.http.post(
            "/graphql", json={"query": LOGIN, "variables": {"input": {"email": email, "password": password}}}
        )
        assert response.status_code == 200 and password not in response.text
        return response.json()["data"]["login"]


async def test_slowdown_after_failures_refuses_even_the_right_password(gql, world, runtime):
    slowdown = runtime.settings.login_slowdown_after
    for _ in range(slowdown):
        assert codes(await login(gql, "user@a.example", WRONG)) == ["INVALID_CREDENTIALS"]
    refused = await login(gql, "user@a.example")
    assert refused["accessToken"] is None and codes(refused) == ["TOO_MANY_ATTEMPTS"]
    assert "wait" in refused["errors"][0]["message"]
    # the refusal itself is not a failure
    assert (await _throttle(runtime))["account:user@a.example"] == (slowdown, False)
    await _age_failures(runtime)
    assert (await login(gql, "user@a.example"))["accessToken"]


async def test_lock_after_many_failures(gql, world, runtime):
    settings = runtime.settings
    for attempt in range(settings.login_lock_after):
        await _age_failures(runtime)
        assert codes(await login(gql, "user@a.example", WRONG)) == ["INVALID_CREDENTIALS"], attempt
    await _age_failures(runtime)
    locked = await login(gql, "user@a.example")
    assert locked["accessToken"] is None and codes(locked) == ["ACCOUNT_LOCKED"]
    assert (await _throttle(runtime))["account:user@a.example"] == (settings.login_lock_after, True)
    # a lock is not a back-off: ageing the last failure does not lift it
    await _age_failures(runtime, 300)
    assert codes(await login(gql, "user@a.example")) == ["ACCOUNT_LOCKED"]
    # the client address is locked too, so another account from it is refused
    assert codes(await login(gql, "admin@a.example")) == ["ACCOUNT_LOCKED"]


async def test_account_counter_applies_across_client_addresses(app, world, runtime):
    for index in range(runtime.settings.login_slowdown_after):
        async with FromAddress(app, f"10.0.0.{index + 1}") as other:
            assert codes(await other.login("user@a.example", WRONG)) == ["INVALID_CREDENTIALS"]
    async with FromAddress(app, "10.0.0.99") as fresh:
        assert codes(await fresh.login("user@a.example")) == ["TOO_MANY_ATTEMPTS"]
        # another account from that address is fine
        assert (await fresh.login("admin@a.example"))["accessToken"]


async def test_address_counter_affects_other_accounts(gql, world, runtime):
    # one failure each on different accounts: no account reaches the limit, the address does
    for email in ["user@a.example", "user@b.example", "nobody@a.example"][: runtime.settings.login_slowdown_after]:
        assert codes(await login(gql, email, WRONG)) == ["INVALID_CREDENTIALS"]
    counters = await _throttle(runtime)
    assert counters["address:127.0.0.1"] == (3, False)
    assert counters["account:user@a.example"] == (1, False)
    refused = await login(gql, "admin@a.example")
    assert codes(refused) == ["TOO_MANY_ATTEMPTS"]
    await _age_failures(runtime)
    assert (await login(gql, "admin@a.example"))["accessToken"]


async def test_successful_login_resets_the_account_counter(app, world, runtime):
    async with FromAddress(app, "10.0.1.1") as first, FromAddress(app, "10.0.1.2") as second:
        for _ in range(runtime.settings.login_slowdown_after - 1):
            assert codes(await first.login("user@a.example", WRONG)) == ["INVALID_CREDENTIALS"]
        assert (await first.login("user@a.example"))["accessToken"]
        counters = await _throttle(runtime)
        assert "account:user@a.example" not in counters
        assert (
            counters["address:10.0.1.1"][0] == runtime.settings.login_slowdown_after - 1
        )  # the address keeps its count
        # as many failures again (from another address): without the reset this would be over the limit
        for _ in range(runtime.settings.login_slowdown_after - 1):
            assert codes(await second.login("user@a.example", WRONG)) == ["INVALID_CREDENTIALS"]
        async with FromAddress(app, "10.0.1.3") as third:
            assert (await third.login("user@a.example"))["accessToken"]


async def test_an_old_streak_of_failures_is_forgotten(gql, world, runtime):
    slowdown = runtime.settings.login_slowdown_after
    for _ in range(slowdown - 1):
        assert codes(await login(gql, "user@a.example", WRONG)) == ["INVALID_CREDENTIALS"]
    # as if those failures were older than the lock window
    await _age_failures(runtime, runtime.settings.login_lock_seconds + 60)
    assert codes(await login(gql, "user@a.example", WRONG)) == ["INVALID_CREDENTIALS"]
    assert (await _throttle(runtime))["account:user@a.example"] == (1, False)
    assert (await login(gql, "user@a.example"))["accessToken"]


async def test_login_with_a_nul_character_is_refused_before_execution(gql, world, runtime):
    # PostgreSQL cannot store or compare NUL: refused for every argument before anything runs
    # (graph/inputs.py), so no password is checked and nothing is counted
    refused = await gql.raw(LOGIN, {"input": {"email": "user@a.example\x00", "password": PASSWORD}})
    assert refused.status_code == 400 and refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await _throttle(runtime) == {}


async def test_concurrent_failed_logins_are_all_counted(gql, world, runtime):
    """Failures racing on one account must neither collide on the counter row nor get lost."""
    import asyncio

    results = await asyncio.gather(*(login(gql, "user@a.example", WRONG) for _ in range(3)))
    assert [r["errors"][0]["code"] for r in results] == ["INVALID_CREDENTIALS"] * 3
    async with runtime.session_factory() as session:
        failures = await session.scalar(
            select(m.LoginThrottle.failures).where(m.LoginThrottle.key == "account:user@a.example")
        )
    assert failures == 3
