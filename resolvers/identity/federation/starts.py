"""Sign-in starts per client address: each OpenID Connect or SAML start stores a row for minutes (its state or
AuthnRequest), so a client that starts sign-ins in a loop would fill the table. An address may hold at most
FLEETGRAPH_FEDERATION_STARTS_PER_ADDRESS unexpired rows of a kind; the next start is answered 429.

Count and insert are decided under one lock per address and kind (the login throttle's row as an anchor,
as one-time codes do): on SQLite the anchor's insert takes the database's write lock, on PostgreSQL the
locked row makes parallel starts of one address take turns. N parallel starts at limit L store at most L.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import PlainTextResponse, Response

from models.base import utcnow
from resolvers.identity.sessions.throttling import take_turns

log = logging.getLogger("fleetgraph.federation")


async def refusal(session: AsyncSession, model: Any, kind: str, address: str, limit: int) -> int | None:
    """None when `address` may start another sign-in of `kind` (`model`'s rows, with client_address and
    expires_at); else the seconds until its oldest row expires. Call it in the transaction that stores the row."""
    await take_turns(session, f"{kind}-start:{address}")
    now = utcnow()
    held, first_expiry = (
        await session.execute(
            select(func.count(), func.min(model.expires_at)).where(
                model.client_address == address, model.expires_at > now
            )
        )
    ).one()
    if held < limit:
        return None
    log.warning("%s sign-in start refused: %s holds %d unexpired starts", kind, address or "(no address)", held)
    return max(1, math.ceil((first_expiry - now).total_seconds()))


def too_many(retry_after: int) -> Response:
    return PlainTextResponse(
        "Too many sign-ins started from this address; try again later.\n",
        status_code=429,
        headers={"Retry-After": str(retry_after), "Cache-Control": "no-store"},
    )
