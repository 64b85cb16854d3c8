"""Web Push (RFC 8030) with VAPID (RFC 8292), sent by monitoring's outbound-delivery engine (kind
"metering.push"): the hook only queues, so a slow or absent push service never holds up the transaction that
records a transfer, and failures are retried with backoff.

Per attempt: the body (JSON, see `notice`) encrypted for the browser with aes128gcm (RFC 8291, pywebpush), the
`Authorization: vapid t=<JWT>, k=<public key>` header for the endpoint's origin, a TTL of a day. A push service
answering 404 or 410 has forgotten the browser: the subscription is deleted and the delivery fails for good.

Endpoints are URLs users give: like forwarding, a host at a private, loopback or link-local address is refused
(checked when registered and again per attempt, as DNS may change) unless FLEETGRAPH_FORWARDING_PRIVATE_ADDRESSES
allows them (tests, a lab); only then is plain http accepted.
"""

from __future__ import annotations

import time
import urllib.parse
from email.utils import parseaddr
from typing import Any

import httpx
import orjson
from pywebpush import WebPusher
from sqlalchemy import delete, select

from models import metering as mt
from resolvers.metering.notifications.vapid import signing_key
from resolvers.monitoring.delivery.engine import ADAPTERS, Delivery, DeliveryError
from resolvers.monitoring.forwarding.adapters.target import check_address

KIND = "metering.push"
GONE = {404, 410}
PERMANENT = {400, 401, 403, 413}
TTL_SECONDS = 24 * 3600
VAPID_LIFETIME_SECONDS = 12 * 3600


async def endpoint_problem(runtime: Any, endpoint: str) -> str | None:
    """Why an endpoint is refused (None: fine)."""
    parts = urllib.parse.urlsplit(endpoint)
    private_allowed = runtime.settings.forwarding_private_addresses
    if parts.scheme != "https" and not (private_allowed and parts.scheme == "http"):
        return "A push endpoint is an https URL."
    if not parts.hostname or parts.username or parts.password:
        return "A push endpoint is an https URL with a host and no credentials."
    try:
        await check_address(runtime, parts.hostname)
    except DeliveryError as error:
        return str(error)
    return None


def _origin(endpoint: str) -> str:
    parts = urllib.parse.urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


async def _subscription(runtime: Any, delivery: Delivery) -> mt.PushSubscription:
    async with runtime.session_factory() as session:
        row = await session.scalar(select(mt.PushSubscription).where(mt.PushSubscription.id == delivery.target_id))
    if row is None:
        raise DeliveryError("The push subscription was removed.", permanent=True)
    return row


async def send_push(runtime: Any, delivery: Delivery) -> None:
    """The adapter (see the module's docstring)."""
    row = await _subscription(runtime, delivery)
    problem = await endpoint_problem(runtime, row.endpoint)
    if problem is not None:
        raise DeliveryError(problem)
    vapid = await signing_key(runtime)
    subscription = {"endpoint": row.endpoint, "keys": {"p256dh": row.p256dh, "auth": row.auth}}
    body = WebPusher(subscription).encode(orjson.dumps(delivery.payload), "aes128gcm")["body"]
    contact = parseaddr(runtime.settings.mail_from)[1] or "no-reply@fleetgraph.invalid"
    expires = int(time.time()) + VAPID_LIFETIME_SECONDS
    claims = {"aud": _origin(row.endpoint), "sub": f"mailto:{contact}", "exp": expires}
    headers = {
        **vapid.sign(claims),
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(TTL_SECONDS),
        "Urgency": "normal",
    }
    try:
        async with httpx.AsyncClient(timeout=runtime.settings.delivery_timeout_seconds) as client:
            response = await client.post(row.endpoint, content=body, headers=headers)
    except httpx.HTTPError as error:  # its type only: an endpoint's URL is a capability of the browser
        raise DeliveryError(f"The push service could not be reached ({type(error).__name__}).") from None
    if response.status_code in GONE:
        async with runtime.session_factory() as session, session.begin():
            await session.execute(delete(mt.PushSubscription).where(mt.PushSubscription.id == row.id))
        raise DeliveryError(
            f"The push service forgot the browser (HTTP {response.status_code}); its subscription was removed.",
            permanent=True,
        )
    if response.status_code in PERMANENT:
        raise DeliveryError(f"The push service refused the message (HTTP {response.status_code}).", permanent=True)
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"The push service answered HTTP {response.status_code}.")


ADAPTERS.register(KIND, send_push)
