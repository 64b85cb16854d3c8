"""Changing a user's e-mail address (userUpdate) and confirming it, as the e-mail change tests do."""

from __future__ import annotations

import re

from models.mail import OutboxMessage

UPDATE = "mutation($input: UserUpdateInput!) { userUpdate(input: $input) { user { email } errors { code field } } }"
CONFIRM = (
    "mutation($input: EmailChangeConfirmInput!) { emailChangeConfirm(input: $input) { email errors { code field } } }"
)


def token_of(mail: OutboxMessage) -> str:
    return re.search(r"/confirm-email\?token=([A-Za-z0-9_\-]+)", mail.body_text).group(1)


async def change(gql, world, new: str, user="user_a", token="user_a") -> dict:
    result = await gql(UPDATE, {"input": {"id": world.id("User", user), "email": new}}, token=world.tokens[token])
    return result["data"]["userUpdate"]


async def confirm(gql, token: str) -> dict:
    return (await gql(CONFIRM, {"input": {"token": token}}))["data"]["emailChangeConfirm"]
