"""Password reset by e-mail: the request never tells whether an address exists; the link is single use."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from graph.auth import hash_token
from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from models.mail import TemplateType
from resolvers.identity.email_tokens.rules import RESET_LIMIT
from resolvers.mail.defaults import DEFAULTS
from tests.factories import NEW_PASSWORD, PASSWORD, snapshot
from tests.identity.password_reset_helpers import request, reset, token_of
from tests.mail.opened import outbox

LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
ME = "{ me { email } }"


async def login(gql, email: str, password: str) -> dict:
    return (await gql(LOGIN, {"input": {"email": email, "password": password}}))["data"]["login"]


async def test_known_and_unknown_addresses_get_the_same_answer(gql, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == world.users["user_b"].id).values(is_active=False))
    answers = [
        await request(gql, address)
        for address in (
            "user@a.example",
            "nobody@a.example",
            "user@b.example",
            "not an address",
            "",
            "USER@A.EXAMPLE",
        )
    ]
    # byte for byte the same answer every time
    assert len({(r.status_code, r.content) for r in answers}) == 1
    assert answers[0].status_code == 200 and answers[0].json()["data"] == {"passwordResetRequest": {"errors": []}}
    # NUL is refused before execution for every address alike (graph/inputs.py): nothing to tell apart
    refused = [await request(gql, address) for address in ("x\x00@a.example", "user@a.example\x00")]
    # the same but for the request ID every error carries (one per request by design)
    for response in refused:
        for error in response.json()["errors"]:
            assert error["extensions"]["requestId"] == response.headers["X-Request-ID"]
    without_ids = {r.content.replace(r.headers["X-Request-ID"].encode(), b"") for r in refused}
    assert len(without_ids) == 1 and {r.status_code for r in refused} == {400}
    # only the known active accounts got a mail (user@a twice), the deactivated one none
    assert [mail.to_address for mail in await outbox(runtime)] == ["user@a.example", "user@a.example"]


async def test_reset_sets_the_password_and_ends_every_session(gql, world, runtime):
    await request(gql, "user@a.example")
    [mail] = await outbox(runtime)
    assert (mail.template_type, mail.language) == (TemplateType.PASSWORD_RESET, "en")
    assert mail.subject == DEFAULTS[TemplateType.PASSWORD_RESET]["en"][0]
    token = token_of(mail)
    async with runtime.session_factory() as session:
        row = await session.scalar(select(m.OneTimeToken))
    assert (row.token_hash, row.purpose, row.user_id) == (
        hash_token(token),
        m.OneTimePurpose.PASSWORD_RESET,
        world.users["user_a"].id,
    )
    tables = await snapshot(runtime)
    # nowhere in clear, not even in the queued mail (its body is sealed with the master key)
    assert [name for name, rows in tables.items() if token in repr(rows)] == []

    assert await reset(gql, token) == {"success": True, "errors": []}
    assert [e["extensions"]["code"] for e in (await gql(ME, token=world.tokens["user_a"]))["errors"]] == [
        "UNAUTHENTICATED"
    ]
    assert (await login(gql, "user@a.example", PASSWORD))["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert (await login(gql, "user@a.example", NEW_PASSWORD))["errors"] == []
    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("user.password_reset%")).order_by(AuditEvent.id)
            )
        ).all()
    assert actions == ["user.password_reset_requested", "user.password_reset"]

    # the link is spent
    before = await snapshot(runtime)
    assert await reset(gql, token, "Another-Fresh#Password42") == {
        "success": False,
        "errors": [{"code": "INVALID_TOKEN", "field": ["token"]}],
    }
    assert await snapshot(runtime) == before


async def test_policy_applies_and_a_refusal_keeps_the_link(gql, world, runtime):
    await request(gql, "user@a.example")
    token = token_of((await outbox(runtime))[0])
    before = await snapshot(runtime)
    assert await reset(gql, token, "short") == {
        "success": False,
        "errors": [{"code": "WEAK_PASSWORD", "field": ["newPassword"]}],
    }
    assert await reset(gql, token, "correct-horse-battery") == {
        "success": False,
        "errors": [{"code": "WEAK_PASSWORD", "field": ["newPassword"]}],
    }
    assert await snapshot(runtime) == before
    assert (await reset(gql, token))["success"] is True


async def test_reused_history_password_is_refused(gql, world, runtime):
    # put the current password into the history, as a password change would have
    async with runtime.session_factory() as session, session.begin():
        user = await session.get(m.User, world.users["user_a"].id)
        session.add(m.PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    await request(gql, "user@a.example")
    token = token_of((await outbox(runtime))[0])
    assert await reset(gql, token, PASSWORD) == {
        "success": False,
        "errors": [{"code": "PASSWORD_REUSED", "field": ["newPassword"]}],
    }


async def test_expired_unknown_and_superseded_links_answer_alike(gql, world, runtime):
    await request(gql, "user@a.example")
    await request(gql, "user@a.example")
    superseded, newest = (token_of(mail) for mail in await outbox(runtime))
    await request(gql, "admin@a.example")
    expired = token_of((await outbox(runtime))[2])
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(m.OneTimeToken)
            .where(m.OneTimeToken.token_hash == hash_token(expired))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    before = await snapshot(runtime)
    answers = [await reset(gql, token) for token in (superseded, expired, "a" * 43, "", "z" * 5000)]
    assert all(
        answer == {"success": False, "errors": [{"code": "INVALID_TOKEN", "field": ["token"]}]} for answer in answers
    )
    assert await snapshot(runtime) == before
    assert (await reset(gql, newest))["success"] is True


async def test_a_confirm_email_token_is_no_reset_token(gql, world, runtime):
    await gql(
        f'mutation {{ userUpdate(input: {{id: "{world.id("User", "user_a")}", email: "x@a.example"}}) '
        "{ errors { code } } }",
        token=world.tokens["user_a"],
    )
    [mail] = await outbox(runtime)
    token = re.search(r"token=([A-Za-z0-9_\-]+)", mail.body_text).group(1)
    assert (await reset(gql, token))["errors"] == [{"code": "INVALID_TOKEN", "field": ["token"]}]


async def test_requests_are_throttled_per_account_without_telling(gql, world, runtime):
    answers = {(await request(gql, "user@a.example")).content for _ in range(RESET_LIMIT + 2)}
    assert len(answers) == 1
    assert len(await outbox(runtime)) == RESET_LIMIT
    # another account is not affected
    await request(gql, "admin@a.example")
    assert len(await outbox(runtime)) == RESET_LIMIT + 1


async def test_reset_lifts_a_login_lock(gql, world, runtime):
    for _ in range(runtime.settings.login_lock_after):
        await login(gql, "user@a.example", "wrong password")
    assert (await login(gql, "user@a.example", PASSWORD))["errors"][0]["code"] in (
        "ACCOUNT_LOCKED",
        "TOO_MANY_ATTEMPTS",
    )
    await request(gql, "user@a.example")
    assert (await reset(gql, token_of((await outbox(runtime))[0])))["success"] is True
    result = await login(gql, "user@a.example", NEW_PASSWORD)
    assert result["errors"] in ([], [{"code": "TOO_MANY_ATTEMPTS"}])  # the client address may still be slowed down


@pytest.mark.parametrize("language", ["de", "sv"])
async def test_reset_mail_in_the_users_language(gql, world, runtime, language):
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == world.users["user_a"].id).values(language=language))
    await request(gql, "user@a.example")
    [mail] = await outbox(runtime)
    expected = language if language in DEFAULTS[TemplateType.PASSWORD_RESET] else "en"
    assert (mail.language, mail.subject) == (expected, DEFAULTS[TemplateType.PASSWORD_RESET][expected][0])
