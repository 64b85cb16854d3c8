"""Sign-up and sign-in with a code mailed to an address: through the outbox and a real SMTP server (aiosmtpd), the
first valid code makes a consumer account, later codes log in to it; codes die when used, expired, replaced or
mistyped five times; three per address in 15 minutes; known and unknown addresses are answered alike; of eight
parallel sign-ins with one code exactly one gets tokens."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import func, select, update

from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from models.mail import OutboxMessage
from resolvers.mail.workers.delivery import deliver_due
from tests.accounts.helpers import ME, SEND, SIGN_IN, call, codes, configure, mailed_code
from tests.burst import burst
from tests.identity.two_factor_helpers import enrol, fresh_code
from tests.mail.opened import opened
from tests.smtp import smtp_server, smtp_settings

ADDRESS = "Erika.Muster@Example.ORG"
NORMALISED = "erika.muster@example.org"


async def count(runtime, statement) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(statement)


async def users_named(runtime, address: str) -> int:
    return await count(runtime, select(func.count()).select_from(m.User).where(m.User.email == address))


async def test_first_code_signs_up_a_consumer_and_later_codes_sign_in(gql, runtime):
    assert await call(gql, SEND, {"email": ADDRESS}) == {"sent": True, "errors": []}
    with smtp_server() as (controller, collector):
        assert await deliver_due(runtime, settings=smtp_settings(runtime, controller.port)) == 1
    [message] = collector.messages
    assert message["To"] == NORMALISED and message["Subject"] == "Your sign-in code"
    code = re.search(r"^\s+(\d{6})\s*$", message.get_body(("plain",)).get_content(), re.M).group(1)
    assert code not in message["Subject"]

    signed_in = await call(gql, SIGN_IN, {"email": ADDRESS, "code": code, "language": "RU"})
    assert signed_in["errors"] == [] and signed_in["accessToken"] and signed_in["refreshToken"]
    assert signed_in["user"] == {
        "email": NORMALISED,
        "phone": None,
        "roles": ["CONSUMER"],
        "language": "RU",
        "organisation": {"name": "Consumers"},
    }
    me = await gql(ME, token=signed_in["accessToken"])
    assert me["data"]["me"]["email"] == NORMALISED

    # a later code logs in to the same account
    await call(gql, SEND, {"email": NORMALISED})
    again = await call(gql, SIGN_IN, {"email": NORMALISED, "code": await mailed_code(runtime, NORMALISED)})
    assert again["errors"] == [] and again["user"]["email"] == NORMALISED
    assert await users_named(runtime, NORMALISED) == 1
    assert (
        await count(runtime, select(func.count()).select_from(m.Organisation).where(m.Organisation.name == "Consumers"))
        == 1
    )
    actions = await count(
        runtime, select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user.signed_up")
    )
    assert actions == 1


async def test_consumer_organisation_comes_from_the_setting(gql, runtime, monkeypatch):
    configure(monkeypatch, runtime, consumer_organisation="Wasser Kunden")
    await call(gql, SEND, {"email": "kunde@example.org"})
    signed_in = await call(
        gql, SIGN_IN, {"email": "kunde@example.org", "code": await mailed_code(runtime, "kunde@example.org")}
    )
    assert signed_in["user"]["organisation"] == {"name": "Wasser Kunden"}


async def test_known_and_unknown_addresses_get_the_same_answer(gql, world, runtime):
    known = await gql(SEND, {"input": {"email": "user@a.example"}})
    unknown = await gql(SEND, {"input": {"email": "nobody@a.example"}})
    assert known == unknown
    assert known["data"] == {"signInCodeSend": {"sent": True, "errors": []}}
    # a known account signs in to itself, in its own organisation and roles
    signed_in = await call(
        gql, SIGN_IN, {"email": "user@a.example", "code": await mailed_code(runtime, "user@a.example")}
    )
    assert signed_in["user"]["organisation"] == {"name": "Tenant A"} and signed_in["user"]["roles"] == ["USER"]


async def test_code_is_stored_hashed_and_never_logged(gql, runtime, caplog):
    caplog.set_level(logging.DEBUG)
    await call(gql, SEND, {"email": NORMALISED})
    code = await mailed_code(runtime, NORMALISED)
    async with runtime.session_factory() as session:
        row = await session.scalar(select(m.OneTimeCode))
        mail = await session.scalar(select(OutboxMessage))
    assert code not in row.code_hash and row.code_hash.startswith("$argon2id$")
    assert code not in mail.subject and code not in (mail.body_text or "")
    await call(gql, SIGN_IN, {"email": NORMALISED, "code": code})
    assert code not in caplog.text


async def test_wrong_expired_used_and_replaced_codes_are_refused(gql, runtime, monkeypatch):
    configure(monkeypatch, runtime, login_slowdown_after=100, login_lock_after=100)
    await call(gql, SEND, {"email": NORMALISED})
    first = await mailed_code(runtime, NORMALISED)
    await call(gql, SEND, {"email": NORMALISED})
    second = await mailed_code(runtime, NORMALISED)
    if first != second:  # a new code voids the older one
        assert codes(await call(gql, SIGN_IN, {"email": NORMALISED, "code": first})) == ["INVALID_CREDENTIALS"]
    # expired
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.OneTimeCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = await call(gql, SIGN_IN, {"email": NORMALISED, "code": second})
    assert codes(refused) == ["INVALID_CREDENTIALS"] and refused["accessToken"] is None
    # used
    await call(gql, SEND, {"email": NORMALISED})
    third = await mailed_code(runtime, NORMALISED)
    assert (await call(gql, SIGN_IN, {"email": NORMALISED, "code": third}))["errors"] == []
    assert codes(await call(gql, SIGN_IN, {"email": NORMALISED, "code": third})) == ["INVALID_CREDENTIALS"]
    assert await users_named(runtime, NORMALISED) == 1


async def test_five_wrong_tries_kill_the_code(gql, runtime, monkeypatch):
    configure(monkeypatch, runtime, login_slowdown_after=100, login_lock_after=100)
    await call(gql, SEND, {"email": NORMALISED})
    code = await mailed_code(runtime, NORMALISED)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert codes(await call(gql, SIGN_IN, {"email": NORMALISED, "code": wrong})) == ["INVALID_CREDENTIALS"]
    assert codes(await call(gql, SIGN_IN, {"email": NORMALISED, "code": code})) == ["INVALID_CREDENTIALS"]
    assert await users_named(runtime, NORMALISED) == 0


async def test_parallel_wrong_tries_cannot_pass_five(gql, runtime, monkeypatch):
    """Each try is counted before the code is checked, so parallel guesses get at most five checks between them."""
    configure(monkeypatch, runtime, login_slowdown_after=100, login_lock_after=100)
    await call(gql, SEND, {"email": NORMALISED})
    code = await mailed_code(runtime, NORMALISED)
    wrong = [f"{(int(code) + 1 + index) % 10**6:06d}" for index in range(8)]
    answers = await burst(runtime, 8, lambda i: call(gql, SIGN_IN, {"email": NORMALISED, "code": wrong[i]}))
    assert all(codes(answer) == ["INVALID_CREDENTIALS"] for answer in answers)
    assert await count(runtime, select(m.OneTimeCode.failures)) == 5
    # the code is dead: the right one is refused too
    assert codes(await call(gql, SIGN_IN, {"email": NORMALISED, "code": code})) == ["INVALID_CREDENTIALS"]
    assert await count(runtime, select(m.OneTimeCode.failures)) == 5
    assert await users_named(runtime, NORMALISED) == 0


async def test_wrong_tries_are_throttled_like_password_logins(gql, runtime):
    """identity's login counters: slow-down after login_slowdown_after failures on the address."""
    await call(gql, SEND, {"email": NORMALISED})
    answers = [await call(gql, SIGN_IN, {"email": NORMALISED, "code": "000000"}) for _ in range(5)]
    assert "TOO_MANY_ATTEMPTS" in [code for answer in answers for code in codes(answer)]


async def test_at_most_three_codes_per_address_in_fifteen_minutes(gql, runtime):
    for _ in range(3):
        assert (await call(gql, SEND, {"email": NORMALISED}))["errors"] == []
    refused = await call(gql, SEND, {"email": ADDRESS})
    assert codes(refused) == ["TOO_MANY_ATTEMPTS"] and refused["sent"] is False
    assert await count(runtime, select(func.count()).select_from(OutboxMessage)) == 3
    # another address is not affected, and the window passes
    assert (await call(gql, SEND, {"email": "other@example.org"}))["errors"] == []
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.OneTimeCode).values(created_at=utcnow() - timedelta(minutes=16)))
    assert (await call(gql, SEND, {"email": NORMALISED}))["errors"] == []


async def test_parallel_sends_respect_the_limit(gql, runtime):
    answers = await burst(runtime, 8, lambda i: call(gql, SEND, {"email": NORMALISED}))
    assert sorted(len(a["errors"]) for a in answers) == [0, 0, 0, 1, 1, 1, 1, 1]
    assert await count(runtime, select(func.count()).select_from(m.OneTimeCode)) == 3


async def test_parallel_sign_ins_with_one_code_give_tokens_once(gql, runtime, monkeypatch):
    configure(monkeypatch, runtime, login_slowdown_after=100, login_lock_after=100)
    await call(gql, SEND, {"email": NORMALISED})
    code = await mailed_code(runtime, NORMALISED)
    answers = await burst(runtime, 8, lambda i: call(gql, SIGN_IN, {"email": NORMALISED, "code": code}))
    winners = [a for a in answers if a["accessToken"]]
    assert len(winners) == 1, answers
    assert all(codes(a) == ["INVALID_CREDENTIALS"] for a in answers if a is not winners[0])
    assert await users_named(runtime, NORMALISED) == 1


async def test_bad_input_gets_typed_errors_and_changes_nothing(gql, runtime):
    cases = [
        ({}, "email"),
        ({"email": NORMALISED, "phone": "+4917012345678"}, "email"),
        ({"email": "not an address"}, "email"),
        ({"phone": "0170 1234567"}, "phone"),
        ({"phone": "+49 12"}, "phone"),
    ]
    for values, field in cases:
        answer = await call(gql, SEND, values)
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [("INVALID", [field])], values
    # a valid number, but this server has no SMS gateway
    answer = await call(gql, SEND, {"phone": "+49 170 1234567"})
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [("NOT_ALLOWED", ["phone"])]
    assert await count(runtime, select(func.count()).select_from(m.OneTimeCode)) == 0
    assert await count(runtime, select(func.count()).select_from(OutboxMessage)) == 0
    answer = await call(gql, SIGN_IN, {"code": "123456"})
    assert codes(answer) == ["INVALID"]


async def test_an_account_with_two_factor_also_needs_its_authenticator_code(gql, world, runtime):
    secret = await enrol(gql, runtime, world, "user_a")
    await call(gql, SEND, {"email": "user@a.example"})
    code = await mailed_code(runtime, "user@a.example")
    asked = await call(gql, SIGN_IN, {"email": "user@a.example", "code": code})
    assert codes(asked) == ["TWO_FACTOR_REQUIRED"] and asked["accessToken"] is None
    # the mailed code stays live for the second step
    otp = await fresh_code(runtime, world.users["user_a"].id, secret)
    signed_in = await call(gql, SIGN_IN, {"email": "user@a.example", "code": code, "otp": otp})
    assert signed_in["errors"] == [] and signed_in["accessToken"]


async def test_the_code_comes_in_the_asked_language_or_the_accounts_own(gql, world, runtime):
    await call(gql, SEND, {"email": "neu@example.org", "language": "RU"})
    await call(gql, SEND, {"email": "user@a.example", "language": "RU"})  # user_a's own language wins
    async with runtime.session_factory() as session:
        mails = {row.to_address: row for row in (await session.scalars(select(OutboxMessage))).all()}
    assert mails["neu@example.org"].subject == "Ваш код для входа" and mails["neu@example.org"].language == "ru"
    assert "Consumers" in opened(runtime, mails["neu@example.org"]).body_text
    assert mails["user@a.example"].subject == "Your sign-in code"
    assert "Tenant A" in opened(runtime, mails["user@a.example"]).body_text
