"""SMS through an HTTP gateway, sent by monitoring's outbound-delivery engine (kind "accounts.sms").

The gateway: `POST <FLEETGRAPH_SMS_GATEWAY_URL>` with the JSON body {"to": "+4917012345678", "text": "…"}, the
delivery's `Idempotency-Key` header (a repeat after a lost answer carries the same key, so the gateway can drop
it), and the credentials set with `fleetgraph sms-gateway-credentials`: HTTP Basic with a user name, else
`Authorization: Bearer <token>`. Any 2xx is an acknowledgement; 400, 401, 403, 413 and 422 fail at once (no
retry helps), anything else is retried with backoff.

The message holds a code: in the queue its text is sealed with the master key, bound to the delivery, and it
is wiped from the queue once the gateway acknowledged it. Nothing here logs it.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import Sealer
from models import forwarding as fw
from models import identity as m
from resolvers.monitoring.delivery.engine import ADAPTERS, Delivery, DeliveryError
from resolvers.monitoring.delivery.queue import enqueue

KIND = "accounts.sms"
PERMANENT = {400, 401, 403, 413, 422}
CREDENTIALS_ID = 1
CREDENTIALS_BINDING = "sms-gateway:1:credentials"


#: The SMS carrying a code, per language (short: one SMS segment with the organisation's name).
CODE_TEXTS = {
    "de": "{code} ist Ihr Code für {organisation}. {minutes} Minuten gültig. Geben Sie ihn nicht weiter.",
    "en": "{code} is your {organisation} code. Valid {minutes} minutes. Never share it.",
    "es": "{code} es su código de {organisation}. Válido {minutes} minutos. No lo comparta.",
    "fr": "{code} est votre code {organisation}. Valable {minutes} minutes. Ne le partagez pas.",
    "it": "{code} è il suo codice {organisation}. Valido {minutes} minuti. Non lo condivida.",
    "ru": "{code} — ваш код для входа в {organisation}. Действует {minutes} минут. Никому его не сообщайте.",
    "sv": "{code} är din kod för {organisation}. Giltig i {minutes} minuter. Dela den inte.",
}


def code_text(language: str, code: str, organisation: str, minutes: int) -> str:
    return CODE_TEXTS.get(language, CODE_TEXTS["en"]).format(code=code, organisation=organisation, minutes=minutes)


def _text_binding(idempotency_key: str) -> str:
    return f"outbound:{idempotency_key}:sms-text"


async def queue_sms(session: AsyncSession, sealer: Sealer, *, to: str, text: str, code_id: int) -> None:
    """Queue one SMS in the caller's transaction (the code and its message commit together)."""
    key = f"{KIND}:{code_id}"
    sealed = base64.b64encode(sealer.seal(text.encode(), _text_binding(key))).decode()
    await enqueue(session, KIND, code_id, key, {"to": to, "text": sealed})


def seal_credentials(sealer: Sealer, credentials: dict[str, str]) -> bytes:
    return sealer.seal(orjson.dumps(credentials), CREDENTIALS_BINDING)


def open_credentials(sealer: Sealer, sealed: bytes) -> dict[str, str]:
    return orjson.loads(sealer.open(sealed, CREDENTIALS_BINDING))


def _authorisation(credentials: dict[str, str] | None) -> dict[str, str]:
    if not credentials:
        return {}
    if credentials.get("username"):
        pair = f"{credentials['username']}:{credentials['secret']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    return {"Authorization": f"Bearer {credentials['secret']}"}


async def send_sms(runtime: Any, delivery: Delivery) -> None:
    """The adapter: one POST to the gateway; returns once it acknowledged (see the module's docstring)."""
    url = runtime.settings.sms_gateway_url
    if not url:
        raise DeliveryError("No SMS gateway is configured (FLEETGRAPH_SMS_GATEWAY_URL).", permanent=True)
    if not delivery.payload.get("text"):
        raise DeliveryError("The message was wiped before it was acknowledged.", permanent=True)
    text = runtime.sealer.open(base64.b64decode(delivery.payload["text"]), _text_binding(delivery.idempotency_key))
    async with runtime.session_factory() as session:
        sealed = await session.scalar(
            select(m.SmsGatewayCredential.secret).where(m.SmsGatewayCredential.id == CREDENTIALS_ID)
        )
    headers = {
        "Idempotency-Key": delivery.idempotency_key,
        **_authorisation(open_credentials(runtime.sealer, sealed) if sealed is not None else None),
    }
    body = {"to": delivery.payload["to"], "text": text.decode()}
    try:
        async with httpx.AsyncClient(timeout=runtime.settings.delivery_timeout_seconds) as client:
            response = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as error:  # its type only: its text may hold the URL's credentials
        raise DeliveryError(f"The SMS gateway could not be reached ({type(error).__name__}).") from None
    if response.status_code in PERMANENT:
        raise DeliveryError(f"The SMS gateway refused the message (HTTP {response.status_code}).", permanent=True)
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"The SMS gateway answered HTTP {response.status_code}.")
    await _wipe_text(runtime, delivery.id)


async def _wipe_text(runtime: Any, delivery_id: int) -> None:
    """The code has no business in the queue once it is sent (the delivery keeps the number, for the history)."""
    D = fw.OutboundDelivery
    async with runtime.session_factory() as session, session.begin():
        payload = await session.scalar(select(D.payload).where(D.id == delivery_id))
        if payload is not None:
            await session.execute(update(D).where(D.id == delivery_id).values(payload={**payload, "text": ""}))


ADAPTERS.register(KIND, send_sms)
