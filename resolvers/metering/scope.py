"""Who sees which metering points.

A consumer (role CONSUMER) sees only the points they own, never another consumer's, even in the same
consumers' organisation. Staff with METERING_READ see every point of their organisation's subtree, their
consumers' included. Another tenant's point reads like one that does not exist.
"""

from __future__ import annotations

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.tenancy import visible_organisation_ids
from models import metering as mt
from models.identity import Role
from resolvers.metering.errors import MeteringErrorCode as Code


def is_consumer(principal: Principal) -> bool:
    """A consumer keeps their own points only (a consumer who is also staff is staff)."""
    return Role.CONSUMER in principal.roles and not (principal.roles - {Role.CONSUMER})


def metering_point_visible(principal: Principal) -> ColumnElement[bool]:
    if principal.is_platform_admin:
        return true()
    if is_consumer(principal):
        return mt.MeteringPoint.owner_id == principal.user_id
    return mt.MeteringPoint.organisation_id.in_(visible_organisation_ids(principal))


async def visible_metering_point(
    session: AsyncSession, context: Context, global_id: str, field: str, *, lock: bool = False
) -> mt.MeteringPoint:
    """A metering point the caller sees (and, holding METERING_MANAGE, may change), or NOT_FOUND at `field`."""
    pk = decode_id(global_id, "MeteringPoint")
    point = None
    if pk is not None:
        principal = require_principal(context)
        statement = select(mt.MeteringPoint).where(mt.MeteringPoint.id == pk, metering_point_visible(principal))
        point = await session.scalar(statement.with_for_update() if lock else statement)
    if point is None:
        raise DomainError(Code.NOT_FOUND, "No such metering point.", field)
    return point
