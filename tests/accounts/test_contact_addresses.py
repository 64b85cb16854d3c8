"""Contact addresses: added with a confirmation link mailed through the outbox (and delivered by a real SMTP
server), confirmed once (also under eight parallel confirmations), listed on `me` for their owner only."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models import identity as m
from models.mail import OutboxMessage, TemplateType
from resolvers.mail.workers.delivery import deliver_due
from tests.accounts.helpers import ERRORS, ME, call, codes
from tests.burst import burst
from tests.mail.opened import opened
from tests.smtp import smtp_server, smtp_settings

ADD = f"""mutation($input: ContactEmailAddInput!) {{ contactEmailAdd(input: $input) {{
  contactEmail {{ id email confirmedAt }} {ERRORS} }} }}"""
CONFIRM = f"""mutation($input: ContactEmailConfirmInput!) {{ contactEmailConfirm(input: $input) {{
  contactEmail {{ email confirmedAt }} {ERRORS} }} }}"""
RESEND = f"""mutation($input: ContactEmailIdInput!) {{ contactEmailResend(input: $input) {{
  contactEmail {{ email }} {ERRORS} }} }}"""
REMOVE = f"""mutation($input: ContactEmailIdInput!) {{ contactEmailRemove(input: $input) {{
  contactEmail {{ email }} {ERRORS} }} }}"""


async def last_token(runtime, address: str) -> str:
    async with runtime.session_factory() as session:
        mail = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_address == address).order_by(OutboxMessage.id.desc()).limit(1)
        )
    assert mail.template_type == TemplateType.CONFIRM_EMAIL
    return re.search(r"/confirm-contact\?token=([A-Za-z0-9_\-]+)", opened(runtime, mail).body_text).group(1)


async def test_add_confirm_list_and_remove(gql, world, runtime):
    token = world.tokens["user_a"]
    added = await call(gql, ADD, {"email": " Home@Example.ORG "}, token)
    assert added["errors"] == [] and added["contactEmail"]["email"] == "home@example.org"
    assert added["contactEmail"]["confirmedAt"] is None

    with smtp_server() as (controller, collector):
        assert await deliver_due(runtime, settings=smtp_settings(runtime, controller.port)) == 1
    [message] = collector.messages
    assert message["To"] == "home@example.org"
    link = re.search(r"token=([A-Za-z0-9_\-]+)", message.get_body(("plain",)).get_content()).group(1)

    confirmed = await call(gql, CONFIRM, {"token": link})
    assert confirmed["errors"] == [] and confirmed["contactEmail"]["confirmedAt"]
    assert codes(await call(gql, CONFIRM, {"token": link})) == ["INVALID_TOKEN"]  # once

    me = (await gql(ME, token=token))["data"]["me"]
    assert [(c["email"], bool(c["confirmedAt"])) for c in me["contactEmails"]] == [("home@example.org", True)]
    # nobody else sees it: not another user, not an admin of the organisation
    assert (await gql(ME, token=world.tokens["admin_a"]))["data"]["me"]["contactEmails"] == []
    node_query = "query($id: ID!) { node(id: $id) { id } }"
    node = await gql(node_query, {"id": added["contactEmail"]["id"]}, world.tokens["admin_a"])
    assert node["data"]["node"] is None

    assert codes(await call(gql, RESEND, {"id": added["contactEmail"]["id"]}, token)) == ["INVALID_STATE"]
    removed = await call(gql, REMOVE, {"id": added["contactEmail"]["id"]}, token)
    assert removed == {"contactEmail": {"email": "home@example.org"}, "errors": []}
    assert (await gql(ME, token=token))["data"]["me"]["contactEmails"] == []


async def test_resend_voids_the_older_link(gql, world, runtime):
    token = world.tokens["user_a"]
    added = await call(gql, ADD, {"email": "home@example.org"}, token)
    first = await last_token(runtime, "home@example.org")
    assert (await call(gql, RESEND, {"id": added["contactEmail"]["id"]}, token))["errors"] == []
    second = await last_token(runtime, "home@example.org")
    assert codes(await call(gql, CONFIRM, {"token": first})) == ["INVALID_TOKEN"]
    assert (await call(gql, CONFIRM, {"token": second}))["errors"] == []


async def test_parallel_confirmations_confirm_once(gql, world, runtime):
    await call(gql, ADD, {"email": "home@example.org"}, world.tokens["user_a"])
    link = await last_token(runtime, "home@example.org")
    answers = await burst(runtime, 8, lambda i: call(gql, CONFIRM, {"token": link}))
    assert sorted(len(a["errors"]) for a in answers) == [0] + [1] * 7
    assert all(codes(a) == ["INVALID_TOKEN"] for a in answers if a["errors"])


async def test_bad_input_is_refused_and_changes_nothing(gql, world, runtime):
    token = world.tokens["user_a"]
    assert codes(await call(gql, ADD, {"email": "not an address"}, token)) == ["INVALID"]
    await call(gql, ADD, {"email": "home@example.org"}, token)
    assert codes(await call(gql, ADD, {"email": "HOME@example.org"}, token)) == ["DUPLICATE"]
    for i in range(9):
        await call(gql, ADD, {"email": f"more{i}@example.org"}, token)
    assert codes(await call(gql, ADD, {"email": "eleven@example.org"}, token)) == ["NOT_ALLOWED"]
    assert codes(await call(gql, CONFIRM, {"token": "x" * 300})) == ["INVALID_TOKEN"]
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(m.ContactEmail)) == 10
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 10
    # the same address may be another user's contact too (a shared family inbox)
    assert (await call(gql, ADD, {"email": "home@example.org"}, world.tokens["user_b"]))["errors"] == []


async def test_signed_out_callers_cannot_add(gql):
    result = await gql(ADD, {"input": {"email": "home@example.org"}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
