"""Creating, changing, deleting and pinning locations, and placing routers at them.

Another tenant's location reads exactly like an unknown one (NOT_FOUND)."""

from __future__ import annotations

import math

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.rules import UNSET, clean_text, flush_unique
from graph.tenancy import visible_organisation
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.local_network.rules import copy_defaults
from resolvers.remote.scope import visible_location, visible_router

MAX_LOCATION_NAME = 200


def clean_location_name(value: str, field: str = "name") -> str:
    value = clean_text(value, field, max_length=MAX_LOCATION_NAME, required=False)
    if not value:
        raise DomainError(Code.REQUIRED, "A name is required.", field)
    return value


def check_coordinates(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise DomainError(
            Code.REQUIRED,
            "Give both latitude and longitude, or neither.",
            "longitude" if longitude is None else "latitude",
        )
    for name, value, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if value is not None and (not math.isfinite(value) or not -bound <= value <= bound):
            raise DomainError(Code.INVALID, f"{name.capitalize()} must be between -{bound} and {bound}.", name)


async def _free_router_for(
    session: AsyncSession, context: Context, router_id: str, organisation_id: int, location_id: int | None
) -> r.Router:
    router = await visible_router(session, context, router_id, "routerId", lock=True)
    if router.organisation_id != organisation_id:
        raise DomainError(
            Code.WRONG_ORGANISATION, "The router belongs to another organisation than the location.", "routerId"
        )
    at = await session.scalar(select(r.Location.id).where(r.Location.router_id == router.id))
    if at is not None and at != location_id:
        raise DomainError(Code.ROUTER_IN_USE, "The router is already at another location.", "routerId")
    return router


async def _flush_location(session: AsyncSession) -> None:
    # a concurrent create with the same name or router
    await flush_unique(session, DomainError(Code.DUPLICATE, "The name or the router is already taken.", "name"))


async def _name_taken(session: AsyncSession, organisation_id: int, name: str, except_id: int | None = None) -> None:
    statement = select(
        exists().where(
            r.Location.organisation_id == organisation_id, r.Location.name == name, r.Location.id != (except_id or 0)
        )
    )
    if await session.scalar(statement):
        raise DomainError(Code.DUPLICATE, "The organisation already has a location with this name.", "name")


async def create_location(
    session: AsyncSession,
    context: Context,
    *,
    name: str,
    organisation_id: str | None,
    router_id: str | None,
    latitude: float | None,
    longitude: float | None,
) -> r.Location:
    name = clean_location_name(name)
    check_coordinates(latitude, longitude)
    principal: Principal = require_principal(context)
    if organisation_id is None:
        organisation_pk = principal.organisation_id
    else:
        organisation_pk = (await visible_organisation(session, principal, organisation_id, "organisationId")).id
    router = None
    if router_id is not None:
        router = await _free_router_for(session, context, router_id, organisation_pk, None)
    await _name_taken(session, organisation_pk, name)
    location = r.Location(
        organisation_id=organisation_pk,
        name=name,
        router_id=router.id if router else None,
        latitude=latitude,
        longitude=longitude,
    )
    session.add(location)
    await _flush_location(session)
    await copy_defaults(session, location)  # issue 18: new locations inherit the local network defaults
    await record(
        session,
        context,
        "location.created",
        organisation_id=organisation_pk,
        target_type="Location",
        target_id=location.id,
        details={"name": name, "routerId": router.id if router else None},
    )
    return location


async def update_location(
    session: AsyncSession,
    context: Context,
    location_id: str,
    *,
    name=UNSET,
    latitude=UNSET,
    longitude=UNSET,
) -> r.Location:
    location = await visible_location(session, context, location_id, "id", managed=True)
    changes: dict[str, object] = {}
    if name is not UNSET:
        if name is None:
            raise DomainError(Code.REQUIRED, "A name is required.", "name")
        changes["name"] = new_name = clean_location_name(name)
        await _name_taken(session, location.organisation_id, new_name, location.id)
    if latitude is not UNSET or longitude is not UNSET:
        new_latitude = location.latitude if latitude is UNSET else latitude
        new_longitude = location.longitude if longitude is UNSET else longitude
        check_coordinates(new_latitude, new_longitude)
        changes["latitude"], changes["longitude"] = new_latitude, new_longitude
    for key, value in changes.items():
        setattr(location, key, value)
    await _flush_location(session)
    if changes:
        await record(
            session,
            context,
            "location.updated",
            organisation_id=location.organisation_id,
            target_type="Location",
            target_id=location.id,
            details={"fields": sorted(changes)},
        )
    return location


async def delete_location(session: AsyncSession, context: Context, location_id: str) -> int:
    location = await visible_location(session, context, location_id, "id", managed=True)
    pk = location.id
    # the router becomes a free router of the organisation again
    await session.execute(delete(r.LocationPin).where(r.LocationPin.location_id == pk))
    await session.delete(location)
    await session.flush()
    await record(
        session,
        context,
        "location.deleted",
        organisation_id=location.organisation_id,
        target_type="Location",
        target_id=pk,
        details={"name": location.name},
    )
    return pk


async def assign_router_to_location(
    session: AsyncSession, context: Context, location_id: str, router_id: str | None
) -> r.Location:
    """Put a free router of the location's organisation at the location (the one there before becomes free);
    null takes the router away."""
    location = await visible_location(session, context, location_id, "locationId", managed=True)
    router = None
    if router_id is not None:
        router = await _free_router_for(session, context, router_id, location.organisation_id, location.id)
    previous = location.router_id
    location.router_id = router.id if router else None
    await _flush_location(session)
    if previous != location.router_id:
        await record(
            session,
            context,
            "location.router_assigned",
            organisation_id=location.organisation_id,
            target_type="Location",
            target_id=location.id,
            details={"routerId": location.router_id, "previousRouterId": previous},
        )
    return location


async def pin_location(session: AsyncSession, context: Context, location_id: str, pinned: bool) -> r.Location:
    location = await visible_location(session, context, location_id, "locationId")
    user_id = require_principal(context).user_id
    is_pinned = await session.scalar(
        select(exists().where(r.LocationPin.user_id == user_id, r.LocationPin.location_id == location.id))
    )
    if pinned and not is_pinned:
        session.add(r.LocationPin(user_id=user_id, location_id=location.id))
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:
            pass  # pinned at the same moment from another tab: pinned is what was asked
    elif not pinned and is_pinned:
        await session.execute(
            delete(r.LocationPin).where(r.LocationPin.user_id == user_id, r.LocationPin.location_id == location.id)
        )
    return location
