"""GraphQL documents and helpers of the accounts tests (sign-in by code, SMS, contact addresses)."""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import select

from models.mail import OutboxMessage, TemplateType
from tests.mail.opened import opened

ERRORS = "errors { code field message }"
SEND = f"mutation($input: SignInCodeSendInput!) {{ signInCodeSend(input: $input) {{ sent {ERRORS} }} }}"
SIGN_IN = f"""mutation($input: SignInWithCodeInput!) {{ signInWithCode(input: $input) {{
  accessToken refreshToken user {{ email phone roles language organisation {{ name }} }} {ERRORS} }} }}"""
PHONE_CODE = (
    f"mutation($input: ProfilePhoneCodeSendInput!) {{ profilePhoneCodeSend(input: $input) {{ sent {ERRORS} }} }}"
)
PHONE_SET = (
    f"mutation($input: ProfilePhoneSetInput!) {{ profilePhoneSet(input: $input) {{ user {{ phone }} {ERRORS} }} }}"
)
ME = "{ me { email phone roles contactEmails { id email confirmedAt } } }"


async def call(gql, query: str, values: dict, token: str | None = None) -> dict:
    result = await gql(query, {"input": values}, token=token)
    assert "errors" not in result, result
    [payload] = result["data"].values()
    return payload


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def configure(monkeypatch, runtime, **values) -> None:
    # Settings are frozen; the app reads runtime.settings per request, so replacing it is a real config change.
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, **values))


async def mailed_code(runtime, address: str) -> str:
    """The code in the newest sign-in mail to `address` (its body is sealed in the outbox)."""
    async with runtime.session_factory() as session:
        mail = await session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == address, OutboxMessage.template_type == TemplateType.SIGN_IN_CODE)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    assert mail is not None, f"no sign-in mail to {address}"
    return re.search(r"^\s+(\d{6})\s*$", opened(runtime, mail).body_text, re.M).group(1)
