"""Asking for a password reset link and using it."""

from __future__ import annotations

import re

from models.mail import OutboxMessage
from tests.factories import NEW_PASSWORD

REQUEST = (
    "mutation($input: PasswordResetRequestInput!) { passwordResetRequest(input: $input) { errors { "
    "code field message } } }"
)
RESET = "mutation($input: PasswordResetInput!) { passwordReset(input: $input) { success errors { code field } } }"


def token_of(mail: OutboxMessage) -> str:
    return re.search(r"/reset\?token=([A-Za-z0-9_\-]+)", mail.body_text).group(1)


async def request(gql, email: str):
    return await gql.raw(REQUEST, {"input": {"email": email}})


async def reset(gql, token: str, password: str = NEW_PASSWORD) -> dict:
    return (await gql(RESET, {"input": {"token": token, "newPassword": password}}))["data"]["passwordReset"]
