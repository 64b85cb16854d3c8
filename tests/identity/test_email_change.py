"""Changing an e-mail address: nothing changes until the link mailed to the new address is followed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from graph.auth import hash_token
from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from models.mail import TemplateType
from resolvers.mail.defaults import DEFAULTS
from tests.factories import PASSWORD, add_user, snapshot
from tests.identity.email_change_helpers import change, confirm, token_of
from tests.mail.opened import outbox

LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
ME = "{ me { email } }"


async def test_own_change_waits_for_confirmation(gql, world, runtime):
    payload = await change(gql, world, " New.Address@A.example ")
    assert payload == {"user": {"email": "user@a.example"}, "errors": []}
    [mail] = await outbox(runtime)
    assert (mail.to_address, mail.template_type) == ("new.address@a.example", TemplateType.CONFIRM_EMAIL)
    assert mail.body_text.startswith(DEFAULTS[TemplateType.CONFIRM_EMAIL]["en"][2].split("{{")[0])
    assert f"{runtime.settings.link_base_url}/confirm-email?token=" in mail.body_text
    token = token_of(mail)
    # stored hashed only, for the new address
    async with runtime.session_factory() as session:
        row = await session.scalar(select(m.OneTimeToken))
    assert (row.token_hash, row.purpose, row.new_email, row.used_at) == (
        hash_token(token),
        m.OneTimePurpose.CONFIRM_EMAIL,
        "new.address@a.example",
        None,
    )
    # only the queued mail itself carries the link, and sealed: no table holds it in clear
    tables = await snapshot(runtime)
    assert [name for name, rows in tables.items() if token in repr(rows)] == []
    # still the old login until confirmed
    assert (await gql(ME, token=world.tokens["user_a"]))["data"]["me"]["email"] == "user@a.example"

    assert await confirm(gql, token) == {"email": "new.address@a.example", "errors": []}
    assert (await gql(ME, token=world.tokens["user_a"]))["data"]["me"]["email"] == "new.address@a.example"
    login = (await gql(LOGIN, {"input": {"email": "new.address@a.example", "password": PASSWORD}}))["data"]["login"]
    assert login["errors"] == []
    async with runtime.session_factory() as session:
        events = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("user.email%")).order_by(AuditEvent.id)
            )
        ).all()
    assert events == ["user.email_change_requested", "user.email_changed"]

    # single use
    before = await snapshot(runtime)
    assert await confirm(gql, token) == {"email": None, "errors": [{"code": "INVALID_TOKEN", "field": ["token"]}]}
    assert await snapshot(runtime) == before


async def test_mail_goes_out_in_the_users_language(gql, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == world.users["user_a"].id).values(language="de"))
    await change(gql, world, "neu@a.example")
    [mail] = await outbox(runtime)
    language = "de" if "de" in DEFAULTS[TemplateType.CONFIRM_EMAIL] else "en"
    assert mail.language == language
    assert mail.subject == DEFAULTS[TemplateType.CONFIRM_EMAIL][language][0]


async def test_admin_change_also_needs_the_owner_to_confirm(gql, world, runtime):
    payload = await change(gql, world, "moved@a.example", user="user_a", token="admin_a")
    assert payload == {"user": {"email": "user@a.example"}, "errors": []}
    [mail] = await outbox(runtime)
    assert mail.to_address == "moved@a.example"
    assert (await confirm(gql, token_of(mail)))["email"] == "moved@a.example"


async def test_only_the_newest_link_works(gql, world, runtime):
    await change(gql, world, "first@a.example")
    await change(gql, world, "second@a.example")
    first, second = await outbox(runtime)
    assert (await confirm(gql, token_of(first)))["errors"] == [{"code": "INVALID_TOKEN", "field": ["token"]}]
    assert (await confirm(gql, token_of(second)))["email"] == "second@a.example"


async def test_same_address_sends_nothing(gql, world, runtime):
    assert (await change(gql, world, "USER@a.example"))["errors"] == []
    assert await outbox(runtime) == []


async def test_expired_link_is_refused_like_an_unknown_one(gql, world, runtime):
    await change(gql, world, "late@a.example")
    [mail] = await outbox(runtime)
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.OneTimeToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    before = await snapshot(runtime)
    expired = await confirm(gql, token_of(mail))
    assert (
        expired
        == await confirm(gql, "x" * 43)
        == await confirm(gql, "")
        == {"email": None, "errors": [{"code": "INVALID_TOKEN", "field": ["token"]}]}
    )
    assert await snapshot(runtime) == before


async def test_address_taken_meanwhile_is_refused(gql, world, runtime):
    await change(gql, world, "contested@a.example")
    [mail] = await outbox(runtime)
    async with runtime.session_factory() as session, session.begin():
        await add_user(
            session,
            await session.get(m.Organisation, world.organisations["a"].id),
            "contested@a.example",
            [m.Role.USER],
        )
    before = await snapshot(runtime)
    assert await confirm(gql, token_of(mail)) == {"email": None, "errors": [{"code": "DUPLICATE", "field": ["email"]}]}
    assert await snapshot(runtime) == before


async def test_a_taken_address_is_refused_at_once(gql, world, runtime):
    # taken within the caller's reach; another tenant's address goes to confirmation like a free one
    # (refused there, to its owner: tests/identity/test_enumeration.py)
    before = await snapshot(runtime)
    assert (await change(gql, world, "user@a1.example"))["errors"] == [{"code": "DUPLICATE", "field": ["email"]}]
    assert await snapshot(runtime) == before
