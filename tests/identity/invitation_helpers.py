"""Creating and accepting invitations, as the invitation tests do."""

from __future__ import annotations

import re

from tests.factories import NEW_PASSWORD

ERRORS = "errors { code field message }"
INVITATION = (
    "id name email language roles state expiresAt sentAt acceptedAt createdAt organisation { name } invitedBy { email }"
)
CREATE = f"""mutation($input: InvitationCreateInput!) {{
  invitationCreate(input: $input) {{ invitation {{ {INVITATION} }} registrationLink {ERRORS} }} }}"""
ACCEPT = f"""mutation($input: InvitationAcceptInput!) {{
  invitationAccept(input: $input) {{ user {{ name email language roles organisation {{ name }} }} {ERRORS} }} }}"""


def token_of(link: str) -> str:
    return re.search(r"token=([A-Za-z0-9_\-]+)", link).group(1)


def errors(result: dict, field: str) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in result["data"][field]["errors"]]


async def create(gql, world, token="admin_a", **values) -> dict:
    values = {"name": "Ida Invited", "email": "ida@example.org", **values}
    result = await gql(CREATE, {"input": values}, token=world.tokens[token])
    payload = result["data"]["invitationCreate"]
    assert payload["errors"] == [], payload
    return payload


async def accept(gql, token: str, password: str = NEW_PASSWORD, email: str | None = None) -> dict:
    values = {"token": token, "password": password}
    if email is not None:
        values["email"] = email
    return (await gql(ACCEPT, {"input": values}))["data"]["invitationAccept"]
