"""Single use under concurrency: of N requests presenting the same token, link, TOTP code or password
guess at the same moment, exactly one wins; the others get the answer of a reused one.

Every test fires its requests at once over the real HTTP app (tests/burst.py checks that their
transactions overlapped) and runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import func, select

from models import identity as m
from models.audit import AuditEvent
from models.mail import OutboxMessage
from tests.burst import burst
from tests.factories import NEW_PASSWORD, PASSWORD
from tests.identity.two_factor_helpers import enrol, fresh_code
from tests.mail.opened import opened

N = 8
WRONG = "Wrong-Horse#Battery9"
ERRORS = "errors { code field message }"
LOGIN = f"mutation($input: LoginInput!) {{ login(input: $input) {{ accessToken refreshToken {ERRORS} }} }}"
REFRESH = (
    f"mutation($input: TokenRefreshInput!) {{ tokenRefresh(input: $input) {{ accessToken refreshToken {ERRORS} }} }}"
)
ACCEPT = (
    f"mutation($input: InvitationAcceptInput!) {{ invitationAccept(input: $input) {{ user {{ email }} {ERRORS} }} }}"
)
CREATE_INVITATION = f"""mutation($input: InvitationCreateInput!) {{
  invitationCreate(input: $input) {{ invitation {{ id }} registrationLink {ERRORS} }} }}"""
REVOKE = (
    f"mutation($input: InvitationIdInput!) {{ invitationRevoke(input: $input) {{ invitation {{ state }} {ERRORS} }} }}"
)
SEND = f"mutation($input: InvitationIdInput!) {{ invitationSend(input: $input) {{ invitation {{ state }} {ERRORS} }} }}"
RESET_REQUEST = (
    "mutation($input: PasswordResetRequestInput!) { passwordResetRequest(input: $input) { errors { code } } }"
)
RESET = f"mutation($input: PasswordResetInput!) {{ passwordReset(input: $input) {{ success {ERRORS} }} }}"
USER_UPDATE = f"mutation($input: UserUpdateInput!) {{ userUpdate(input: $input) {{ user {{ email }} {ERRORS} }} }}"
CONFIRM_EMAIL = (
    f"mutation($input: EmailChangeConfirmInput!) {{ emailChangeConfirm(input: $input) {{ email {ERRORS} }} }}"
)
TWO_FACTOR_ENROL = "mutation($input: TwoFactorEnrolInput!) { twoFactorEnrol(input: $input) { secret errors { code } } }"
TWO_FACTOR_CONFIRM = f"""mutation($input: TwoFactorConfirmInput!) {{
  twoFactorConfirm(input: $input) {{ user {{ twoFactorEnabled }} {ERRORS} }} }}"""
REAUTH = f"""mutation($input: SessionReauthenticateInput!) {{
  sessionReauthenticate(input: $input) {{ reauthenticatedAt {ERRORS} }} }}"""
ME = "{ me { email } }"


async def call(gql, query: str, values: dict, token: str | None = None) -> dict:
    result = await gql(query, {"input": values}, token=token)
    assert "errors" not in result, result
    [payload] = result["data"].values()
    return payload


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]


async def count(runtime, statement) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(statement)


async def audit_actions(runtime, action: str) -> int:
    return await count(runtime, select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


async def last_link(runtime, path: str) -> str:
    async with runtime.session_factory() as session:
        mail = await session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    return re.search(rf"/{path}\?token=([A-Za-z0-9_\-]+)", opened(runtime, mail).body_text).group(1)


def throttle_settings(monkeypatch, runtime, **values) -> None:
    # Settings are frozen; the app reads runtime.settings per request, so replacing it is a real config change.
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, **values))


# --- links and tokens -------------------------------------------------------------------------------------


async def test_parallel_accepts_of_one_invitation_link_create_one_user(gql, world, runtime):
    created = await call(gql, CREATE_INVITATION, {"name": "Walk In", "email": None}, world.tokens["admin_a"])
    token = re.search(r"token=([A-Za-z0-9_\-]+)", created["registrationLink"]).group(1)

    # an invitation without an address: each request registers another address, so only single use stops them
    answers = await burst(
        runtime,
        N,
        lambda i: call(gql, ACCEPT, {"token": token, "password": NEW_PASSWORD, "email": f"walk.in.{i}@example.org"}),
    )

    winners = [a for a in answers if a["errors"] == []]
    assert len(winners) == 1, answers
    reused = await call(gql, ACCEPT, {"token": token, "password": NEW_PASSWORD, "email": "late@example.org"})
    assert codes(reused) == ["INVALID_TOKEN"]
    assert [a for a in answers if a["errors"]] == [reused] * (N - 1)
    assert await count(runtime, select(func.count()).select_from(m.User).where(m.User.email.like("walk.in.%"))) == 1
    assert await audit_actions(runtime, "invitation.accepted") == 1


async def test_parallel_revokes_and_accepts_of_one_invitation_settle_on_one_outcome(gql, world, runtime):
    created = await call(gql, CREATE_INVITATION, {"name": "Walk In", "email": None}, world.tokens["admin_a"])
    token = re.search(r"token=([A-Za-z0-9_\-]+)", created["registrationLink"]).group(1)
    invitation_id = created["invitation"]["id"]

    def request(i: int):
        if i % 2:
            return call(gql, REVOKE, {"id": invitation_id}, world.tokens["admin_a"])
        return call(gql, ACCEPT, {"token": token, "password": NEW_PASSWORD, "email": f"walk.in.{i}@example.org"})

    answers = await burst(runtime, N, request)
    accepted = [a for a in answers[0::2] if a["errors"] == []]
    revoked = [a for a in answers[1::2] if a["errors"] == []]
    # either one accept won and every revoke saw an accepted invitation, or one revoke won and no accept did
    assert len(accepted) + len(revoked) == 1, answers
    users = await count(runtime, select(func.count()).select_from(m.User).where(m.User.email.like("walk.in.%")))
    state = await count(runtime, select(m.Invitation.state))
    if accepted:
        assert (users, state) == (1, m.InvitationState.ACCEPTED)
        assert {tuple(codes(a)) for a in answers[1::2]} == {("INVALID_STATE",)}
    else:
        assert (users, state) == (0, m.InvitationState.REVOKED)
        assert {tuple(codes(a)) for a in answers[0::2]} == {("INVALID_TOKEN",)}
    # a resend races an accept the same way: it is refused once the invitation is closed
    late_send = await call(gql, SEND, {"id": invitation_id}, world.tokens["admin_a"])
    assert codes(late_send) == ["INVALID_STATE"]


async def test_parallel_refreshes_of_one_token_give_one_pair_and_end_the_session(gql, world, runtime):
    first = await call(gql, LOGIN, {"email": "user@a.example", "password": PASSWORD})
    refresh_token = first["refreshToken"]

    answers = await burst(runtime, N, lambda i: call(gql, REFRESH, {"refreshToken": refresh_token}))

    winners = [a for a in answers if a["errors"] == []]
    assert len(winners) == 1, answers
    reused = await call(gql, REFRESH, {"refreshToken": refresh_token})
    assert codes(reused) == ["INVALID_TOKEN"]
    assert [a for a in answers if a["errors"]] == [reused] * (N - 1)
    # the losers presented a spent token: that is reuse, so the whole session ended, the winner's new pair too
    for access in (first["accessToken"], winners[0]["accessToken"]):
        result = await gql(ME, token=access)
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert codes(await call(gql, REFRESH, {"refreshToken": winners[0]["refreshToken"]})) == ["INVALID_TOKEN"]
    assert await audit_actions(runtime, "token.refresh_reuse_detected") >= 1
    # the user's other sessions are untouched
    assert (await gql(ME, token=world.tokens["user_a"]))["data"]["me"] == {"email": "user@a.example"}


async def test_parallel_password_resets_with_one_link_apply_once(gql, world, runtime):
    assert (await call(gql, RESET_REQUEST, {"email": "user@a.example"}))["errors"] == []
    token = await last_link(runtime, "reset")
    passwords = [f"Violet-Kayak#Lantern{i}x" for i in range(N)]

    answers = await burst(runtime, N, lambda i: call(gql, RESET, {"token": token, "newPassword": passwords[i]}))

    winners = [i for i, a in enumerate(answers) if a["errors"] == []]
    assert len(winners) == 1, answers
    reused = await call(gql, RESET, {"token": token, "newPassword": "Another-Kayak#Lantern5"})
    assert codes(reused) == ["INVALID_TOKEN"]
    assert [a for a in answers if a["errors"]] == [reused] * (N - 1)
    assert await audit_actions(runtime, "user.password_reset") == 1
    # the winner's password is the one in force
    login = await call(gql, LOGIN, {"email": "user@a.example", "password": passwords[winners[0]]})
    assert login["errors"] == [] and login["accessToken"]


async def test_parallel_confirmations_of_one_email_change_apply_once(gql, world, runtime):
    changed = await call(
        gql, USER_UPDATE, {"id": world.id("User", "user_a"), "email": "new.address@a.example"}, world.tokens["user_a"]
    )
    assert changed["errors"] == []
    token = await last_link(runtime, "confirm-email")

    answers = await burst(runtime, N, lambda i: call(gql, CONFIRM_EMAIL, {"token": token}))

    assert [a for a in answers if a["errors"] == []] == [{"email": "new.address@a.example", "errors": []}]
    reused = await call(gql, CONFIRM_EMAIL, {"token": token})
    assert codes(reused) == ["INVALID_TOKEN"]
    assert [a for a in answers if a["errors"]] == [reused] * (N - 1)
    assert await audit_actions(runtime, "user.email_changed") == 1


# --- TOTP codes ---------------------------------------------------------------------------------------------


async def test_parallel_logins_with_one_totp_code_open_one_session(gql, world, runtime, monkeypatch):
    secret = await enrol(gql, runtime, world, "user_a")
    # throttling would refuse most of the burst on its own; here only the code's single use may decide
    throttle_settings(monkeypatch, runtime, login_slowdown_after=100, login_lock_after=100)
    code = await fresh_code(runtime, world.users["user_a"].id, secret)

    answers = await burst(
        runtime, N, lambda i: call(gql, LOGIN, {"email": "user@a.example", "password": PASSWORD, "otp": code})
    )

    assert len([a for a in answers if a["errors"] == []]) == 1, answers
    reused = await call(gql, LOGIN, {"email": "user@a.example", "password": PASSWORD, "otp": code})
    assert codes(reused) == ["INVALID_CREDENTIALS"]
    assert [a for a in answers if a["errors"]] == [reused] * (N - 1)
    assert await audit_actions(runtime, "user.login") == 1


async def test_parallel_reauthentications_with_one_totp_code_succeed_once(gql, world, runtime, monkeypatch):
    secret = await enrol(gql, runtime, world, "user_a")
    throttle_settings(monkeypatch, runtime, login_slowdown_after=100, login_lock_after=100)
    code = await fresh_code(runtime, world.users["user_a"].id, secret)
    token = world.tokens["user_a"]

    answers = await burst(runtime, N, lambda i: call(gql, REAUTH, {"otp": code}, token))

    assert len([a for a in answers if a["errors"] == []]) == 1, answers
    reused = await call(gql, REAUTH, {"otp": code}, token)
    assert codes(reused) == ["INVALID_CREDENTIALS"]
    assert [a for a in answers if a["errors"]] == [reused] * (N - 1)
    assert await audit_actions(runtime, "user.reauthenticated") == 1


async def test_parallel_two_factor_confirmations_with_one_code_succeed_once(gql, world, runtime):
    token = world.tokens["user_a"]
    enrolled = await call(gql, TWO_FACTOR_ENROL, {"password": PASSWORD}, token)
    code = await fresh_code(runtime, world.users["user_a"].id, enrolled["secret"])

    answers = await burst(runtime, N, lambda i: call(gql, TWO_FACTOR_CONFIRM, {"code": code}, token))

    assert len([a for a in answers if a["errors"] == []]) == 1, answers
    reused = await call(gql, TWO_FACTOR_CONFIRM, {"code": code}, token)
    assert codes(reused) == ["INVALID_TWO_FACTOR_CODE"]
    assert [a for a in answers if a["errors"]] == [reused] * (N - 1)
    assert await audit_actions(runtime, "user.two_factor_enabled") == 1


# --- password guesses ----------------------------------------------------------------------------------------


async def _counters(runtime) -> dict[str, tuple[int, bool]]:
    async with runtime.session_factory() as session:
        rows = (await session.scalars(select(m.LoginThrottle))).all()
    return {row.key: (row.failures, row.locked_until is not None) for row in rows}


async def test_parallel_wrong_passwords_are_all_counted_and_lock(gql, world, runtime, monkeypatch):
    """Every guess is counted before its password is checked: once the count reaches the lock, the rest
    of the burst is refused unevaluated. (The lock, not the back-off, is the limit here: the back-off's
    one-second steps would make the outcome depend on how fast the burst runs.)"""
    lock = runtime.settings.login_lock_after
    throttle_settings(monkeypatch, runtime, login_slowdown_after=lock)

    answers = await burst(runtime, 30, lambda i: call(gql, LOGIN, {"email": "user@a.example", "password": WRONG}))

    evaluated = [a for a in answers if codes(a) == ["INVALID_CREDENTIALS"]]
    refused = [a for a in answers if codes(a) == ["ACCOUNT_LOCKED"]]
    assert (len(evaluated), len(refused)) == (lock, 30 - lock), [codes(a) for a in answers]
    # each evaluated guess is a counted failure and an audit event; the refused ones never reached the password
    assert await audit_actions(runtime, "user.login_failed") == lock
    counters = await _counters(runtime)
    assert counters["account:user@a.example"] == (lock, True)
    assert counters["address:127.0.0.1"] == (lock, True)
    # locked now: even the right password is refused
    assert codes(await call(gql, LOGIN, {"email": "user@a.example", "password": PASSWORD})) == ["ACCOUNT_LOCKED"]


async def test_parallel_guesses_with_the_right_password_among_them(gql, world, runtime, monkeypatch):
    """11 wrong guesses and the right password at once, with a lock after 3 failures: no more than 3 wrong
    passwords are ever evaluated, and every attempt counted after the limit, the right password included,
    is refused unevaluated (ACCOUNT_LOCKED). The right password logs in only if it was counted before the
    limit was reached; its success then gives back its own count (that is all a success resets)."""
    throttle_settings(monkeypatch, runtime, login_slowdown_after=3, login_lock_after=3)
    right = 7

    answers = await burst(
        runtime,
        12,
        lambda i: call(gql, LOGIN, {"email": "user@a.example", "password": PASSWORD if i == right else WRONG}),
    )

    outcomes = [codes(a) for a in answers]
    wrong_evaluated = [i for i, o in enumerate(outcomes) if o == ["INVALID_CREDENTIALS"]]
    assert right not in wrong_evaluated
    assert all(outcomes[i] in ([], ["ACCOUNT_LOCKED"]) for i in range(12) if i not in wrong_evaluated), outcomes
    assert len(wrong_evaluated) <= 3, outcomes
    if outcomes[right] == ["ACCOUNT_LOCKED"]:
        # refused: the limit was reached by wrong guesses only
        assert answers[right]["accessToken"] is None and len(wrong_evaluated) == 3
        assert await audit_actions(runtime, "user.login") == 0
    else:
        assert outcomes[right] == [] and answers[right]["accessToken"]
        assert await audit_actions(runtime, "user.login") == 1
    assert await audit_actions(runtime, "user.login_failed") == len(wrong_evaluated)


async def test_one_at_a_time_a_success_or_a_code_request_leaves_the_counters_as_they_were(gql, world, runtime):
    """Counting before the check changes nothing for one request at a time: a login that succeeds, or that
    stops at the request for the TOTP code, gives its count back exactly (row, failures, time, lock)."""

    async def rows():
        async with runtime.session_factory() as session:
            found = (await session.scalars(select(m.LoginThrottle))).all()
        return {row.key: (row.failures, row.last_failure_at, row.locked_until) for row in found}

    assert codes(await call(gql, LOGIN, {"email": "user@a.example", "password": WRONG})) == ["INVALID_CREDENTIALS"]
    after_failure = await rows()
    assert (await call(gql, LOGIN, {"email": "admin@a.example", "password": PASSWORD}))["accessToken"]
    assert await rows() == after_failure  # admin's account row was never there; the address is untouched

    await enrol(gql, runtime, world, "admin_a")
    before = await rows()
    asked = await call(gql, LOGIN, {"email": "admin@a.example", "password": PASSWORD})
    assert codes(asked) == ["TWO_FACTOR_REQUIRED"]
    assert await rows() == before
