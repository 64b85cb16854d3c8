"""The bell (subscribe to a point's transfers) and the browsers' Web Push subscriptions. Both idempotent:
ringing twice keeps one subscription, registering a browser again updates its keys."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.db import insert_or_ignore
from graph.errors import DomainError
from graph.permissions import require_principal
from models import metering as mt
from models.base import utcnow
from resolvers.metering.errors import MeteringErrorCode as Code
from resolvers.metering.notifications.push import endpoint_problem
from resolvers.metering.scope import visible_metering_point

#: Browsers per user: enough for every device one owns, few enough to bound a notice's deliveries.
MAX_BROWSERS = 20
MAX_ENDPOINT = 2000
MAX_KEY = 200


async def subscribe(session: AsyncSession, context: Context, point_id: str) -> mt.MeteringPoint:
    point = await visible_metering_point(session, context, point_id, "meteringPointId")
    user_id = require_principal(context).user_id
    await insert_or_ignore(
        session, mt.MeteringPointSubscription, metering_point_id=point.id, user_id=user_id, created_at=utcnow()
    )
    return point


async def unsubscribe(session: AsyncSession, context: Context, point_id: str) -> mt.MeteringPoint:
    point = await visible_metering_point(session, context, point_id, "meteringPointId")
    S = mt.MeteringPointSubscription
    user_id = require_principal(context).user_id
    await session.execute(delete(S).where(S.metering_point_id == point.id, S.user_id == user_id))
    return point


def _key(value: str, field: list[str]) -> str:
    value = value.strip()
    if not value:
        raise DomainError(Code.REQUIRED, "The Push API's key is required.", field)
    if len(value) > MAX_KEY or not all(ch.isalnum() or ch in "-_=" for ch in value):
        raise DomainError(Code.INVALID, "Expected the base64url key the Push API handed out.", field)
    return value


async def register_browser(
    session: AsyncSession, context: Context, endpoint: str, p256dh: str, auth: str
) -> mt.PushSubscription:
    """Register (or refresh the keys of) a browser's push subscription for the caller."""
    user_id = require_principal(context).user_id
    endpoint = endpoint.strip()
    if len(endpoint) > MAX_ENDPOINT:
        raise DomainError(Code.TOO_LONG, f"At most {MAX_ENDPOINT} characters.", "endpoint")
    problem = await endpoint_problem(context.runtime, endpoint)
    if problem is not None:
        raise DomainError(Code.INVALID, problem, "endpoint")
    keys = {"p256dh": _key(p256dh, ["keys", "p256dh"]), "auth": _key(auth, ["keys", "auth"])}
    P = mt.PushSubscription
    if not await insert_or_ignore(session, P, user_id=user_id, endpoint=endpoint, created_at=utcnow(), **keys):
        await session.execute(update(P).where(P.user_id == user_id, P.endpoint == endpoint).values(**keys))
    count = await session.scalar(select(func.count()).select_from(P).where(P.user_id == user_id))
    if (count or 0) > MAX_BROWSERS:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_BROWSERS} browsers per user; remove one first.", "endpoint")
    row = await session.scalar(
        select(P).where(P.user_id == user_id, P.endpoint == endpoint).execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def remove_browser(session: AsyncSession, context: Context, endpoint: str) -> bool:
    """Forget the caller's browser; False when the caller had no such endpoint."""
    user_id = require_principal(context).user_id
    P = mt.PushSubscription
    deleted = (
        await session.scalars(delete(P).where(P.endpoint == endpoint.strip(), P.user_id == user_id).returning(P.id))
    ).all()
    return bool(deleted)
