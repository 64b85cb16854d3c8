"""From the API to a real SMTP server: the mails that actions send arrive rendered, in the
recipient's language, each exactly once."""

from __future__ import annotations

import re

from models.mail import TemplateType
from resolvers.mail.defaults import DEFAULTS
from resolvers.mail.rendering import render
from resolvers.mail.workers.delivery import deliver_due
from tests.smtp import smtp_server, smtp_settings

INVITE = """mutation($input: InvitationCreateInput!) {
  invitationCreate(input: $input) { invitation { id } errors { code } } }"""
SEND = "mutation($id: ID!) { invitationSend(input: {id: $id}) { invitation { state } errors { code } } }"
ACCEPT = """mutation($token: String!) {
  invitationAccept(input: {token: $token, password: "Fjord#Lantern-62"}) { user { email language } errors { code
    } } }"""
RESET = 'mutation { passwordResetRequest(input: {email: "user@b.example"}) { errors { code } } }'


async def test_invitation_and_reset_mails_arrive_in_the_recipients_language(gql, world, runtime):
    invitation = (
        await gql(
            INVITE,
            {"input": {"name": "Jörg Müßig", "email": "joerg@example.org", "language": "DE"}},
            token=world.tokens["admin_a"],
        )
    )["data"]["invitationCreate"]
    assert invitation["errors"] == []
    sent = (await gql(SEND, {"id": invitation["invitation"]["id"]}, token=world.tokens["admin_a"]))["data"][
        "invitationSend"
    ]
    assert sent == {"invitation": {"state": "SENT"}, "errors": []}
    assert (await gql(RESET))["data"]["passwordResetRequest"]["errors"] == []  # user_b's language: English

    with smtp_server() as (controller, collector):
        settings = smtp_settings(runtime, controller.port)
        assert await deliver_due(runtime, settings=settings) == 2
        assert await deliver_due(runtime, settings=settings) == 0  # nothing twice
    received = {message["To"]: message for message in collector.messages}
    assert set(received) == {"joerg@example.org", "user@b.example"}

    invitation_mail = received["joerg@example.org"]
    subject, _, _ = DEFAULTS[TemplateType.INVITE_USER]["de"]
    variables = {
        "inviter_name": world.users["admin_a"].name,
        "organisation_name": "Tenant A",
        "recipient_name": "Jörg Müßig",
    }
    assert invitation_mail["Subject"] == render(subject, "", "", variables).subject  # the German default
    text = invitation_mail.get_body(("plain",)).get_content()
    assert "Jörg Müßig" in text and "Tenant A" in text
    reset_mail = received["user@b.example"]
    assert reset_mail["Subject"] == DEFAULTS[TemplateType.PASSWORD_RESET]["en"][0]

    # the link in the delivered mail is the one that works, once
    token = re.search(r"register\?token=([\w-]+)", text).group(1)
    accepted = (await gql(ACCEPT, {"token": token}))["data"]["invitationAccept"]
    assert accepted == {"user": {"email": "joerg@example.org", "language": "DE"}, "errors": []}
    assert (await gql(ACCEPT, {"token": token}))["data"]["invitationAccept"]["errors"][0]["code"] == "INVALID_TOKEN"
