"""Registering and assigning routers, locations, pins and heartbeats.

Another tenant's router or location reads exactly like an unknown one (NOT_FOUND), and every refusal
leaves the database unchanged (the mutation's transaction is rolled back).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, publish_after_commit
from graph.errors import DomainError
from graph.relay import decode_id, to_global_id
from graph.tenancy import organisation_visible
from models import remote as r
from models.base import utcnow
from models.identity import Organisation
from resolvers.audit.rules import record
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.scope import location_managed, location_visible, router_in_subtree, router_visible
from subscriptions import channels

#: The manuals' names look like R_M26118014A81B88FB: "R_" and letters/digits (stored upper case).
COMMON_NAME = re.compile(r"R_[A-Z0-9]{1,61}")
MAX_SERIAL = 64
MAX_TEXT = 100
MAX_LOCATION_NAME = 200
MAX_MODEM_STATE = 40

UNSET = object()


# --- validation ------------------------------------------------------------------------------------------


def clean_common_name(value: str, field: str | list[str] = "commonName") -> str:
    value = value.strip().upper()
    if not value:
        raise DomainError(Code.REQUIRED, "A common name is required.", field)
    if not COMMON_NAME.fullmatch(value):
        raise DomainError(
            Code.INVALID, "A common name is R_ followed by letters and digits (e.g. R_M26118014A81B88FB).", field
        )
    return value


def clean_mac(value: str, field: str | list[str] = "macAddress") -> str:
    """Accepts aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff and aabbccddeeff; stores AA:BB:CC:DD:EE:FF."""
    raw = value.strip()
    if not raw:
        raise DomainError(Code.REQUIRED, "A MAC address is required.", field)
    digits = re.sub(r"[:.\-]", "", raw)
    if len(raw) > 17 or not re.fullmatch(r"[0-9A-Fa-f]{12}", digits):
        raise DomainError(Code.INVALID, "Not a MAC address (six bytes in hexadecimal, e.g. 00:1A:2B:3C:4D:5E).", field)
    digits = digits.upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def clean_serial(value: str, field: str | list[str] = "serialNumber") -> str:
    value = value.strip()
    if not value:
        raise DomainError(Code.REQUIRED, "A serial number is required.", field)
    if len(value) > MAX_SERIAL or any(ch.isspace() or ch == "\x00" for ch in value):
        raise DomainError(Code.INVALID, "Not a serial number.", field)
    return value


def clean_text(value: str | None, field: str, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise DomainError(Code.INVALID, "NUL characters are not allowed.", field)
    if len(value) > limit:
        raise DomainError(Code.TOO_LONG, f"At most {limit} characters.", field)
    return value


def clean_location_name(value: str, field: str = "name") -> str:
    value = clean_text(value, field, MAX_LOCATION_NAME)
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


# --- lookups (another tenant's object reads like an unknown one) -------------------------------------------


async def visible_organisation(
    session: AsyncSession, context: Context, global_id: str | None, field: str
) -> Organisation:
    pk = decode_id(global_id, "Organisation") if global_id is not None else None
    organisation = None
    if pk is not None:
        organisation = await session.scalar(
            select(Organisation).where(Organisation.id == pk, organisation_visible(context.principal))
        )
    if organisation is None:
        raise DomainError(Code.NOT_FOUND, "No such organisation.", field)
    return organisation


async def visible_router(
    session: AsyncSession, context: Context, global_id: str, field: str, *, lock: bool = False
) -> r.Router:
    pk = decode_id(global_id, "Router")
    router = None
    if pk is not None:
        statement = select(r.Router).where(r.Router.id == pk, router_visible(context.principal))
        router = await session.scalar(statement.with_for_update() if lock else statement)
    if router is None:
        raise DomainError(Code.NOT_FOUND, "No such router.", field)
    return router


async def visible_location(
    session: AsyncSession, context: Context, global_id: str, field: str, *, managed: bool = False
) -> r.Location:
    """A location the caller sees; with `managed`, one of the caller's subtree (a location granted
    from another organisation is seen, never managed)."""
    pk = decode_id(global_id, "Location")
    location = None
    if pk is not None:
        scope = location_managed(context.principal) if managed else location_visible(context.principal)
        location = await session.scalar(select(r.Location).where(r.Location.id == pk, scope))
    if location is None:
        raise DomainError(Code.NOT_FOUND, "No such location.", field)
    return location


async def organisation_path(session: AsyncSession, organisation_id: int | None) -> str:
    if organisation_id is None:
        return ""
    return await session.scalar(select(Organisation.path).where(Organisation.id == organisation_id)) or ""


# --- routers ---------------------------------------------------------------------------------------------


@dataclass
class RouterFields:
    common_name: str
    mac_address: str
    serial_number: str
    model: str | None = None
    firmware: str | None = None
    organisation_id: str | None = None


async def _check_unique(session: AsyncSession, fields: RouterFields) -> None:
    for column, value, field in (
        (r.Router.common_name, fields.common_name, "commonName"),
        (r.Router.mac_address, fields.mac_address, "macAddress"),
        (r.Router.serial_number, fields.serial_number, "serialNumber"),
    ):
        if await session.scalar(select(exists().where(column == value))):
            raise DomainError(Code.DUPLICATE, "Another router already has this value.", field)


async def register(session: AsyncSession, context: Context, given: RouterFields) -> r.Router:
    fields = RouterFields(
        common_name=clean_common_name(given.common_name),
        mac_address=clean_mac(given.mac_address),
        serial_number=clean_serial(given.serial_number),
        model=clean_text(given.model, "model"),
        firmware=clean_text(given.firmware, "firmware"),
    )
    organisation = None
    if given.organisation_id is not None:
        organisation = await visible_organisation(session, context, given.organisation_id, "organisationId")
    await _check_unique(session, fields)
    router = r.Router(
        common_name=fields.common_name,
        mac_address=fields.mac_address,
        serial_number=fields.serial_number,
        model=fields.model,
        firmware=fields.firmware,
        organisation_id=organisation.id if organisation else None,
    )
    session.add(router)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # registered at the same moment by someone else
        raise DomainError(
            Code.DUPLICATE, "Another router already has this common name, MAC address or serial number."
        ) from exc
    await record(
        session,
        context,
        "router.registered",
        organisation_id=router.organisation_id,
        target_type="Router",
        target_id=router.id,
        details={"commonName": router.common_name, "serialNumber": router.serial_number},
    )
    return router


async def assign(session: AsyncSession, context: Context, router_id: str, organisation_id: str) -> r.Router:
    router = await visible_router(session, context, router_id, "routerId", lock=True)
    organisation = await visible_organisation(session, context, organisation_id, "organisationId")
    if router.organisation_id == organisation.id:
        return router
    # a router at a location belongs to that location's organisation: free it there first
    if await session.scalar(select(exists().where(r.Location.router_id == router.id))):
        raise DomainError(
            Code.ROUTER_IN_USE, "The router is at a location: remove it from the location first.", "routerId"
        )
    previous = router.organisation_id
    router.organisation_id = organisation.id
    await session.flush()
    await record(
        session,
        context,
        "router.assigned",
        organisation_id=organisation.id,
        target_type="Router",
        target_id=router.id,
        details={"commonName": router.common_name, "previousOrganisationId": previous},
    )
    return router


# --- locations -------------------------------------------------------------------------------------------


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
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent create with the same name or router
        raise DomainError(Code.DUPLICATE, "The name or the router is already taken.", "name") from exc


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
    if organisation_id is None:
        organisation_pk = context.principal.organisation_id
    else:
        organisation_pk = (await visible_organisation(session, context, organisation_id, "organisationId")).id
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
        changes["name"] = clean_location_name(name)
        await _name_taken(session, location.organisation_id, changes["name"], location.id)
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
    user_id = context.principal.user_id
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


# --- heartbeats ------------------------------------------------------------------------------------------


@dataclass
class Status:
    cpu_load: float | None = None
    memory_use: float | None = None
    modem_state: str | None = None
    signal_strength: float | None = None
    link_speed: float | None = None


def _check_status(status: Status) -> Status:
    for name, value, low, high in (
        ("cpuLoad", status.cpu_load, 0, 100),
        ("memoryUse", status.memory_use, 0, 100),
        ("signalStrength", status.signal_strength, -200, 0),
        ("linkSpeed", status.link_speed, 0, 1_000_000),
    ):
        if value is not None and (not math.isfinite(value) or not low <= value <= high):
            raise DomainError(Code.INVALID, f"Must be between {low} and {high}.", ["status", name])
    status.modem_state = clean_text(status.modem_state, "status.modemState", MAX_MODEM_STATE)
    return status


def router_event(
    kind: str, router_id: int, at, path: str, *, location_id: int | None = None, connection_id: int | None = None
) -> dict:
    """A ROUTER_STATE event (subscriptions.channels): kind ONLINE, OFFLINE, CONNECTED or DISCONNECTED."""
    return {
        "kind": kind,
        "routerId": to_global_id("Router", router_id),
        "locationId": to_global_id("Location", location_id) if location_id is not None else None,
        "connectionId": to_global_id("RouterConnection", connection_id) if connection_id is not None else None,
        "at": at.isoformat(),
        "organisationPath": path,
    }


def state_event(router_id: int, online: bool, at, path: str) -> dict:
    return router_event("ONLINE" if online else "OFFLINE", router_id, at, path)


async def heartbeat(
    session: AsyncSession, context: Context, common_name: str, status: Status
) -> tuple[r.Router, r.RouterStatusSample]:
    """The routerHeartbeat mutation: a router of the caller's subtree (router_in_subtree)."""
    name = clean_common_name(common_name)
    status = _check_status(status)
    router = await session.scalar(
        select(r.Router).where(r.Router.common_name == name, router_in_subtree(context.principal))
    )
    if router is None:
        raise DomainError(Code.NOT_FOUND, "No such router.", "commonName")
    return await record_heartbeat(session, router, status, utcnow())


async def trusted_heartbeat(
    session: AsyncSession, common_name: str, status: Status
) -> tuple[r.Router, r.RouterStatusSample]:
    """A heartbeat from a trusted channel (MQTT: the broker authenticated the router and its topic ACL
    allows it only its own common name), so there is no tenant context to check."""
    name = clean_common_name(common_name)
    status = _check_status(status)
    router = await session.scalar(select(r.Router).where(r.Router.common_name == name))
    if router is None:
        raise DomainError(Code.NOT_FOUND, "No such router.", "commonName")
    return await record_heartbeat(session, router, status, utcnow())


async def record_heartbeat(
    session: AsyncSession, router: r.Router, status: Status, now
) -> tuple[r.Router, r.RouterStatusSample]:
    """Record the (checked) status and mark the router online; the state changes (and an ONLINE event goes
    out after the commit) only when it was offline. The guarded UPDATE settles a race with the watchdog or
    another heartbeat."""
    sample = r.RouterStatusSample(
        router_id=router.id,
        taken_at=now,
        cpu_load=status.cpu_load,
        memory_use=status.memory_use,
        modem_state=status.modem_state,
        signal_strength=status.signal_strength,
        link_speed=status.link_speed,
    )
    session.add(sample)
    came_online = (
        await session.execute(
            update(r.Router)
            .where(r.Router.id == router.id, r.Router.online.is_(False))
            .values(online=True, state_changed_at=now, last_heartbeat_at=now)
            .returning(r.Router.id)
            .execution_options(synchronize_session=False)
        )
    ).first() is not None
    if not came_online:
        await session.execute(
            update(r.Router)
            .where(r.Router.id == router.id)
            .values(last_heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
    await session.flush()
    await session.refresh(router)
    if came_online:
        path = await organisation_path(session, router.organisation_id)
        publish_after_commit(session, channels.ROUTER_STATE, state_event(router.id, True, now, path))
    return router, sample


async def end_connections(session: AsyncSession, connection_ids, now, reason: r.ConnectionEnd) -> list:
    """End the given connections that are still active. The guard on ended_at settles a race between a
    disconnect, the watchdog and a withdrawn grant (or two of one): only one of them ends it and tells of it."""
    return (
        await session.execute(
            update(r.RouterConnection)
            .where(r.RouterConnection.id.in_(connection_ids), r.RouterConnection.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
            .returning(
                r.RouterConnection.id,
                r.RouterConnection.router_id,
                r.RouterConnection.location_id,
                r.RouterConnection.organisation_id,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()


async def disconnected_events(session: AsyncSession, ended_rows, now) -> list[dict]:
    """DISCONNECTED router events for rows of end_connections (none for a deleted router: no stream to tell)."""
    org_ids = {row.organisation_id for row in ended_rows}
    paths = (
        dict(
            (
                await session.execute(select(Organisation.id, Organisation.path).where(Organisation.id.in_(org_ids)))
            ).all()
        )
        if org_ids
        else {}
    )
    return [
        router_event(
            "DISCONNECTED",
            row.router_id,
            now,
            paths.get(row.organisation_id, ""),
            location_id=row.location_id,
            connection_id=row.id,
        )
        for row in ended_rows
        if row.router_id is not None
    ]


def decode_id_list(values: Sequence[str] | None, type_name: str, field: str, *, limit: int) -> list[tuple[int, int]]:
    """(position, pk) of each distinct ID of a list argument, in the given order: a malformed ID reads like an
    unknown one (NOT_FOUND at its position), more than `limit` IDs are TOO_MANY."""
    values = list(values or [])
    if len(values) > limit:
        raise DomainError(Code.TOO_MANY, f"At most {limit} IDs.", field)
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type_name).lower()
    first: dict[int, int] = {}
    for index, value in enumerate(values):
        pk = decode_id(value, type_name)
        if pk is None:
            raise DomainError(Code.NOT_FOUND, f"No such {words}.", [field, str(index)])
        first.setdefault(pk, index)
    return [(index, pk) for pk, index in first.items()]
