"""Personal settings (issue 18, manual §15): each user sets their own language, dark mode and menu position, and
`me` shows them; a Dutch user's mails are in Dutch (delivered to a real SMTP server)."""

from __future__ import annotations

from sqlalchemy import select

from models.audit import AuditEvent
from resolvers.mail.workers.delivery import deliver_due
from tests.factories import snapshot
from tests.identity.invitation_helpers import create
from tests.identity.password_reset_helpers import request
from tests.smtp import smtp_server, smtp_settings

SET = """mutation($input: MyPreferencesInput!) {
  myPreferencesSet(input: $input) { user { language darkMode menuPosition } errors { code field message } }
}"""
ME = "{ me { email language darkMode menuPosition } }"


async def me(gql, world, token: str) -> dict:
    return (await gql(ME, token=world.tokens[token]))["data"]["me"]


async def test_each_user_sets_their_own(gql, world, runtime):
    assert await me(gql, world, "user_a") == {
        "email": "user@a.example",
        "language": "EN",
        "darkMode": False,
        "menuPosition": "LEFT",
    }
    result = await gql(SET, {"input": {"darkMode": True, "menuPosition": "TOP"}}, token=world.tokens["user_a"])
    assert result["data"]["myPreferencesSet"] == {
        "user": {"language": "EN", "darkMode": True, "menuPosition": "TOP"},
        "errors": [],
    }
    # what is left out stays as it is
    result = await gql(SET, {"input": {"language": "NL"}}, token=world.tokens["user_a"])
    assert result["data"]["myPreferencesSet"]["user"] == {"language": "NL", "darkMode": True, "menuPosition": "TOP"}
    assert (await me(gql, world, "user_a"))["language"] == "NL"
    assert await me(gql, world, "admin_a") == {
        "email": "admin@a.example",
        "language": "EN",
        "darkMode": False,
        "menuPosition": "LEFT",
    }
    # an admin sees them on their users; the change is audited
    users = await gql(
        '{ users(filter: {email: "user@a.example"}) { nodes { darkMode menuPosition } } }',
        token=world.tokens["admin_a"],
    )
    assert users["data"]["users"]["nodes"] == [{"darkMode": True, "menuPosition": "TOP"}]
    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(select(AuditEvent.action).where(AuditEvent.action == "user.preferences_set"))
        ).all()
    assert len(actions) == 2


async def test_bad_values_and_strangers_change_nothing(gql, world, runtime):
    before = await snapshot(runtime)
    bad = await gql.raw(SET, {"input": {"menuPosition": "BOTTOM"}}, token=world.tokens["user_a"])
    assert bad.status_code < 500 and bad.json()["errors"]
    wrong = await gql.raw(SET, {"input": {"language": "XX"}}, token=world.tokens["user_a"])
    assert wrong.json()["errors"]
    anonymous = await gql(SET, {"input": {"darkMode": True}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    same = await gql(SET, {"input": {}}, token=world.tokens["user_a"])  # nothing given: nothing changes
    assert same["data"]["myPreferencesSet"]["errors"] == []
    assert await snapshot(runtime) == before


async def test_a_dutch_users_mails_are_in_dutch(gql, world, runtime):
    invited = await create(gql, world, name="Piet Pieters", email="piet@example.nl", language="NL")
    sent = await gql(
        "mutation($input: InvitationIdInput!) { invitationSend(input: $input) { errors { code } } }",
        {"input": {"id": invited["invitation"]["id"]}},
        token=world.tokens["admin_a"],
    )
    assert sent["data"]["invitationSend"]["errors"] == []
    assert (await gql(SET, {"input": {"language": "NL"}}, token=world.tokens["user_a"]))["data"]["myPreferencesSet"][
        "errors"
    ] == []
    assert (await request(gql, "user@a.example")).status_code == 200

    with smtp_server() as (controller, collector):
        assert await deliver_due(runtime, settings=smtp_settings(runtime, controller.port)) == 2
    by_address = {message["To"]: message for message in collector.messages}
    invitation, reset = by_address["piet@example.nl"], by_address["user@a.example"]
    assert invitation["Subject"] == "Admin nodigt u uit voor Tenant A"
    assert "Beste Piet Pieters," in invitation.get_body(("plain",)).get_content()
    assert reset["Subject"] == "Wachtwoord opnieuw instellen"
    assert "uw wachtwoord blijft ongewijzigd" in reset.get_body(("plain",)).get_content()
