"""The server's VAPID key pair (RFC 8292): made on first need (the first webPushPublicKey, which a browser reads
before it subscribes, or the first push), once: several processes racing insert one row, the others' inserts are
ignored and they read the winner's. The private key is sealed with the master key and re-sealed by
`rotate-master-key` (Domain.sealed)."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.db import insert_or_ignore
from graph.secrets import sealed_column
from models import metering as mt
from resolvers.mail.sending import session_sealer

KEY_ID = 1
BINDING = "web-push:1:vapid-private-key"
K = mt.WebPushKey


def _public_key(vapid: Vapid02) -> str:
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def ensure_vapid_key(session: AsyncSession) -> None:
    """A new key pair unless there is one (in the caller's transaction)."""
    if await session.scalar(select(K.id).where(K.id == KEY_ID)) is not None:
        return
    vapid = Vapid02()
    vapid.generate_keys()
    sealed = session_sealer(session).seal(vapid.private_pem(), BINDING)
    await insert_or_ignore(session, K, id=KEY_ID, public_key=_public_key(vapid), private_key=sealed)


async def _key_row(runtime: Any) -> Any:
    """(public key, sealed private key), made first if there is none yet."""
    statement = select(K.public_key, K.private_key).where(K.id == KEY_ID)
    async with runtime.session_factory() as session:
        row = (await session.execute(statement)).first()
    if row is None:
        async with runtime.session_factory() as session, session.begin():
            await ensure_vapid_key(session)
            row = (await session.execute(statement)).one()
    return row


async def public_key(runtime: Any) -> str:
    return (await _key_row(runtime)).public_key


async def signing_key(runtime: Any) -> Vapid02:
    """The private key, opened (for the push adapter)."""
    return Vapid02.from_pem(runtime.sealer.open((await _key_row(runtime)).private_key, BINDING))


VAPID_KEY = sealed_column("Web Push VAPID key", "WebPushKey", K.id, K.private_key, lambda _row_id: BINDING)
