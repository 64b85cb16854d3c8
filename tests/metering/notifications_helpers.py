"""Documents and helpers of the notification tests: a point, the hook called as integrations call it, a browser."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from models import metering as mt
from resolvers.metering.hooks import TRANSFER_FINISHED, TransferFinished

ERRORS = "errors { code field message }"
SUBSCRIBE = f"""mutation($input: MeteringPointSubscriptionInput!) {{ meteringPointSubscribe(input: $input) {{
  meteringPoint {{ id subscribed }} {ERRORS} }} }}"""
UNSUBSCRIBE = f"""mutation($input: MeteringPointSubscriptionInput!) {{ meteringPointUnsubscribe(input: $input) {{
  meteringPoint {{ id subscribed }} {ERRORS} }} }}"""
REGISTER = f"""mutation($input: PushSubscriptionRegisterInput!) {{ pushSubscriptionRegister(input: $input) {{
  pushSubscription {{ endpoint }} {ERRORS} }} }}"""
REMOVE = f"""mutation($input: PushSubscriptionRemoveInput!) {{ pushSubscriptionRemove(input: $input) {{
  removed {ERRORS} }} }}"""
PUBLIC_KEY = "{ webPushPublicKey }"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def add_point(session, user, room: str = "Flat 16 bathroom") -> mt.MeteringPoint:
    point = mt.MeteringPoint(
        organisation_id=user.organisation_id,
        owner_id=user.id,
        resource=mt.Resource.COLD_WATER,
        room_name=room,
        time_zone="Europe/Moscow",
    )
    session.add(point)
    await session.flush()
    return point


def finished(point_id: int, organisation_id: int, *, succeeded: bool = True, integration_id: int = 7, **fields):
    values = dict(
        organisation_id=organisation_id,
        metering_point_id=point_id,
        integration_id=integration_id,
        kind="CITY_PORTAL",
        period=date(2026, 12, 1),
        succeeded=succeeded,
        error="" if succeeded else "The portal does not know the meter yet.",
    )
    return TransferFinished(**{**values, **fields})


async def transfer(runtime, outcome: TransferFinished) -> None:
    """What the integrations do: record a run's outcome and call the hook in that transaction."""
    async with runtime.session_factory() as session, session.begin():
        await TRANSFER_FINISHED(session, outcome)


@dataclass
class Browser:
    """A browser's push subscription keys: the receiver decrypts with them as the browser would."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> Browser:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    def keys(self) -> dict[str, str]:
        public = self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"p256dh": b64url(public), "auth": b64url(self.auth)}
