"""Creating, changing and deleting metering points.

A consumer's points are their own (owner = the consumer, organisation = theirs); a point staff create is the
organisation's (no owner), seen by the staff of its subtree.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.rules import UNSET, clean_text
from models import metering as mt
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.metering.addresses.rules import stored_address
from resolvers.metering.errors import MeteringErrorCode as Code
from resolvers.metering.integrations.rules import keep_account_number, reschedule_point
from resolvers.metering.scope import is_consumer, visible_metering_point

MAX_ROOM_NAME = 200
MAX_ACCOUNT_NUMBER = 50


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def clean_time_zone(value: str, field: str) -> str:
    """An IANA time zone name the system's database knows (Europe/Moscow); anything else is INVALID."""
    name = value.strip()
    if name not in _time_zones():
        raise DomainError(Code.INVALID, "Not an IANA time zone (e.g. Europe/Moscow).", field)
    return name


def _account_number(value: str | None) -> str | None:
    text = clean_text(value, "accountNumber", max_length=MAX_ACCOUNT_NUMBER, required=False, single_line=True)
    return text or None


async def create_point(
    session: AsyncSession,
    context: Context,
    *,
    resource: mt.Resource,
    room_name: str,
    time_zone: str,
    address_handle: str | None,
    account_number: str | None,
) -> mt.MeteringPoint:
    principal = require_principal(context)
    point = mt.MeteringPoint(
        organisation_id=principal.organisation_id,
        owner_id=principal.user_id if is_consumer(principal) else None,
        resource=resource,
        room_name=clean_text(room_name, "roomName", max_length=MAX_ROOM_NAME, single_line=True),
        time_zone=clean_time_zone(time_zone, "timeZone"),
        account_number=_account_number(account_number),
    )
    if address_handle:
        point.address_id = (await stored_address(session, context, address_handle, "addressHandle")).id
    session.add(point)
    await session.flush()
    await record(
        session,
        context,
        "metering_point.created",
        organisation_id=point.organisation_id,
        target_type="MeteringPoint",
        target_id=point.id,
        details={"resource": point.resource.value},
    )
    return point


async def update_point(session: AsyncSession, context: Context, point_id: str, **changes: Any) -> mt.MeteringPoint:
    """Change what is given (UNSET: keep); `address_handle` and `account_number` None clear them."""
    cleaned: dict[str, Any] = {}
    if changes["resource"] is not UNSET:
        cleaned["resource"] = changes["resource"]
    if changes["room_name"] is not UNSET:
        cleaned["room_name"] = clean_text(changes["room_name"], "roomName", max_length=MAX_ROOM_NAME, single_line=True)
    if changes["time_zone"] is not UNSET:
        cleaned["time_zone"] = clean_time_zone(changes["time_zone"], "timeZone")
    if changes["account_number"] is not UNSET:
        cleaned["account_number"] = _account_number(changes["account_number"])
    if changes["address_handle"] is not UNSET:  # before the point's lock: a directory may take a while to answer
        handle = changes["address_handle"]
        cleaned["address_id"] = (await stored_address(session, context, handle, "addressHandle")).id if handle else None
    point = await visible_metering_point(session, context, point_id, "id", lock=True)
    if "account_number" in cleaned and cleaned["account_number"] is None:
        await keep_account_number(session, point)
    for name, value in cleaned.items():
        setattr(point, name, value)
    point.updated_at = utcnow()
    await session.flush()
    if "time_zone" in cleaned:
        await reschedule_point(session, point)
    await record(
        session,
        context,
        "metering_point.updated",
        organisation_id=point.organisation_id,
        target_type="MeteringPoint",
        target_id=point.id,
        details={"fields": sorted(cleaned)},
    )
    return point


async def delete_point(session: AsyncSession, context: Context, point_id: str) -> None:
    """Delete the point; its meter is free to be bound elsewhere."""
    point = await visible_metering_point(session, context, point_id, "id", lock=True)
    await session.execute(delete(mt.MeteringPoint).where(mt.MeteringPoint.id == point.id))
    await record(
        session,
        context,
        "metering_point.deleted",
        organisation_id=point.organisation_id,
        target_type="MeteringPoint",
        target_id=point.id,
    )
