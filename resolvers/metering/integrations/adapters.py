"""The integrations' delivery adapters, registered with monitoring's outbound-delivery engine (one kind per
integration kind), and `attempt`, which a synchronisation calls directly.

Per attempt: load the run and build the payload from the meter's latest reading NOW, send it, record the outcome.
HTTP kinds POST the payload (transfer.py) with `Idempotency-Key: <the delivery's key>`:

- WEBHOOK: to its URL, signed: `X-Fleetgraph-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`;
- CITY_PORTAL, STATE_HOUSING, UTILITY: to `<base URL from the settings>/readings`. The city portal's answer
  404 with {"error": "DEVICE_NOT_FOUND"} means the management company has not registered the meter yet: the run
  is DEVICE_NOT_FOUND (no error to the user) and the period is tried again daily. A 2xx answer of the city portal
  may name the responsible person ({"responsiblePerson": …}), which the integration then shows masked.
- EMAIL: the METER_READINGS mail to the recipient through the mail outbox (which retries SMTP itself), written in
  the transaction that records the run as delivered.

A 2xx answer is DELIVERED; 400/405/413/422 fail at once (the request is wrong: the user edits); anything else is
retried by the engine with backoff until its last attempt, which records the run as FAILED.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import urllib.parse
import weakref
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import SecretError
from graph.workers import transaction
from models import identity as m
from models import metering as mt
from models.mail import TemplateType
from resolvers.mail.sending import enqueue as enqueue_mail
from resolvers.metering.integrations.fields import open_secret
from resolvers.metering.integrations.transfer import (
    Transfer,
    delivery_kind,
    encode,
    load_transfer,
    payload,
    record_outcome,
)
from resolvers.monitoring.delivery.engine import ADAPTERS, Delivery, DeliveryError
from resolvers.monitoring.forwarding.adapters.target import check_address

K = mt.IntegrationKind
PERMANENT = {400, 405, 413, 422}
NAMES = {
    K.WEBHOOK: "The webhook",
    K.CITY_PORTAL: "The city portal",
    K.STATE_HOUSING: "The state housing system",
    K.UTILITY: "The utility",
}
_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


class DeviceNotFound(Exception):
    """The city portal does not know the meter yet."""


def _client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _CLIENTS.get(loop)
    if client is None or client.is_closed:
        client = _CLIENTS[loop] = httpx.AsyncClient(follow_redirects=False)
    return client


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _base_url(runtime: Any, kind: mt.IntegrationKind) -> str:
    settings = runtime.settings
    base = {
        K.CITY_PORTAL: settings.metering_city_portal_url,
        K.STATE_HOUSING: settings.metering_state_housing_url,
        K.UTILITY: settings.metering_utility_url,
    }[kind]
    return base.rstrip("/") + "/readings"


async def _post(runtime: Any, transfer: Transfer, body: bytes, key: str) -> httpx.Response:
    integration = transfer.integration
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    if integration.kind is K.WEBHOOK:
        url = integration.settings["url"]
        if not runtime.settings.demo:  # demo mode delivers to its own receiver on this host
            await check_address(runtime, urllib.parse.urlsplit(url).hostname or "")
        try:
            secret = open_secret(runtime.sealer, integration.id, integration.secret)
        except SecretError:
            raise DeliveryError("The webhook's secret does not open under this server's master keys.") from None
        headers["X-Fleetgraph-Signature"] = signature(secret, body)
    else:
        url = _base_url(runtime, integration.kind)
    # shorter than the engine's own timeout, so that this attempt's outcome is still recorded
    timeout = runtime.settings.delivery_timeout_seconds * 0.8
    name = NAMES[integration.kind]
    try:
        response = await _client().post(url, content=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        raise DeliveryError(f"{name} did not answer within {timeout:g} s.") from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"{name} is unreachable ({type(exc).__name__}).") from None
    if (
        integration.kind is K.CITY_PORTAL
        and response.status_code == 404
        and _error_code(response) == "DEVICE_NOT_FOUND"
    ):
        raise DeviceNotFound
    if not response.is_success:
        raise DeliveryError(f"{name} answered {response.status_code}.", permanent=response.status_code in PERMANENT)
    return response


def _error_code(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        return ""
    return str(answer.get("error", "")) if isinstance(answer, dict) else ""


async def _send_mail(session: AsyncSession, transfer: Transfer) -> None:
    """The METER_READINGS mail, in the point owner's language (the consumer chose it), signed with their name (or,
    for staff's points, the organisation's)."""
    point, reading, meter = transfer.point, transfer.reading, transfer.meter
    organisation = await session.scalar(select(m.Organisation.name).where(m.Organisation.id == point.organisation_id))
    owner = (await session.execute(select(m.User.name, m.User.language).where(m.User.id == point.owner_id))).first()
    language = owner.language if owner is not None else "en"
    await enqueue_mail(
        session,
        to_address=transfer.integration.settings["recipient"],
        template_type=TemplateType.METER_READINGS,
        language=language,
        organisation_id=transfer.integration.organisation_id,
        variables={
            "sender_name": owner.name if owner is not None else organisation or "",
            "organisation_name": organisation or "",
            "point_name": point.room_name,
            "address": transfer.address or "",
            "account_number": point.account_number or "",
            "meter": "" if meter is None else f"{meter.serial_number} {meter.manufacturer} {meter.model}",
            "reading": "" if reading is None else f"{reading.value:g} {reading.unit}",
            "reading_at": "" if reading is None else reading.at.strftime("%Y-%m-%d %H:%M UTC"),
            "period": transfer.run.period.isoformat(),
        },
    )


async def attempt(
    runtime: Any, *, key: str, final: bool, run_id: int | None = None, delivery_id: int | None = None
) -> tuple[mt.RunStatus, str]:
    """Send one run now and record the outcome: (status, error). A failure is FAILED when `final` (the engine's last
    attempt, a synchronisation), else the run stays PENDING with the error and DeliveryError is raised for a retry.
    Long because each outcome is recorded in its own transaction with what it changes."""
    async with runtime.session_factory() as session:
        transfer = await load_transfer(session, run_id=run_id, delivery_id=delivery_id)
    if transfer is None:
        return mt.RunStatus.FAILED, "The integration was deleted."
    if transfer.run.status is not mt.RunStatus.PENDING:
        # recorded by an attempt whose worker stopped before the engine recorded it: its outcome stands
        return transfer.run.status, transfer.run.error
    body, digest = encode(payload(transfer, key))
    if transfer.integration.kind is K.EMAIL:
        async with transaction(runtime) as session:
            if await record_outcome(session, transfer, mt.RunStatus.DELIVERED, "", digest):
                await _send_mail(session, transfer)
        return mt.RunStatus.DELIVERED, ""
    try:
        response = await _post(runtime, transfer, body, key)
    except DeviceNotFound:
        async with transaction(runtime) as session:
            await record_outcome(session, transfer, mt.RunStatus.DEVICE_NOT_FOUND, "", digest)
        return mt.RunStatus.DEVICE_NOT_FOUND, ""
    except DeliveryError as error:
        status = mt.RunStatus.FAILED if final or error.permanent else mt.RunStatus.PENDING
        async with transaction(runtime) as session:
            await record_outcome(session, transfer, status, str(error), digest)
        if status is mt.RunStatus.PENDING:
            raise
        return status, str(error)
    async with transaction(runtime) as session:
        await record_outcome(session, transfer, mt.RunStatus.DELIVERED, "", digest)
        if transfer.integration.kind is K.CITY_PORTAL:
            await _remember_person(session, transfer, response)
    return mt.RunStatus.DELIVERED, ""


async def _remember_person(session: AsyncSession, transfer: Transfer, response: httpx.Response) -> None:
    try:
        person = response.json().get("responsiblePerson")
    except (ValueError, AttributeError):
        return
    if isinstance(person, str) and person.strip() and len(person) <= 200:
        settings = {**transfer.integration.settings, "responsiblePerson": person.strip()}
        await session.execute(
            update(mt.Integration).where(mt.Integration.id == transfer.integration.id).values(settings=settings)
        )


async def deliver(runtime: Any, delivery: Delivery) -> None:
    """The engine's adapter: the delivery's run, failed for good on the engine's last attempt."""
    final = delivery.attempts >= runtime.settings.delivery_max_attempts
    status, error = await attempt(runtime, key=delivery.idempotency_key, final=final, delivery_id=delivery.id)
    if status is mt.RunStatus.FAILED and error:
        raise DeliveryError(error, permanent=True)


for _kind in K:
    ADAPTERS.register(delivery_kind(_kind), deliver)
