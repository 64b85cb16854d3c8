"""Two-factor enrolment and codes the server has not seen yet."""

from __future__ import annotations

import time

import pyotp
from sqlalchemy import select

from models import identity as m
from tests.factories import PASSWORD

ENROL = """
mutation($input: TwoFactorEnrolInput!) {
  twoFactorEnrol(input: $input) { provisioningUri secret errors { code field message } }
}"""
CONFIRM = """
mutation($input: TwoFactorConfirmInput!) {
  twoFactorConfirm(input: $input) { user { email twoFactorEnabled } errors { code field message } }
}"""


async def call(gql, query: str, input: dict | None, token: str | None = None, *secrets: str) -> dict:
    response = await gql.raw(query, {"input": input} if input is not None else {}, token=token)
    assert response.status_code == 200, response.text
    for secret in secrets:
        assert secret not in response.text, "a password, code or token was echoed"
    return response.json()


async def last_step(runtime, user_id: int) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(select(m.User.totp_last_step).where(m.User.id == user_id))


async def fresh_code(runtime, user_id: int, secret: str) -> str:
    """A code the server has not seen yet: of the current 30-second step, or the next one when the
    current step is already used (the server accepts one step either side)."""
    totp = pyotp.TOTP(secret)
    step = max(int(time.time() // totp.interval), await last_step(runtime, user_id) + 1)
    assert step <= int(time.time() // totp.interval) + 1, "no unused code left in the accepted window"
    return totp.at(step * totp.interval)


async def enrol(gql, runtime, world, key: str) -> str:
    """Enrol and confirm two-factor for a world user; returns the secret."""
    payload = (await call(gql, ENROL, {"password": PASSWORD}, world.tokens[key], PASSWORD))["data"]["twoFactorEnrol"]
    assert payload["errors"] == []
    secret = payload["secret"]
    code = await fresh_code(runtime, world.users[key].id, secret)
    confirmed = (await call(gql, CONFIRM, {"code": code}, world.tokens[key]))["data"]["twoFactorConfirm"]
    assert confirmed["errors"] == [] and confirmed["user"]["twoFactorEnabled"] is True
    return secret
