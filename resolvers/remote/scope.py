"""Who sees which routers and locations.

Holders of LOCATIONS_MANAGE (organisation admins) see every location and router of their subtree.
Everybody else (users, API users, external users) sees only the locations they were given: directly,
through one of their user groups, or through a location group they are in, and the routers at those
locations. Grants are the only way into another organisation (external users): granting checks that
the user is an external user there, and removing an external user removes their grants.
"""

from __future__ import annotations

import re

from sqlalchemy import CompoundSelect, or_, select, true, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from strawberry.types import Info

from graph.context import Context
from graph.errors import DomainError
from graph.relay import decode_id
from graph.tenancy import path_visible, visible_organisation_ids
from models import remote as r
from models.identity import Organisation, Permission, UserGroupMember
from resolvers.identity import loaders as identity_loaders
from resolvers.remote.errors import RemoteErrorCode as Code


def sees_whole_subtree(principal) -> bool:
    return Permission.LOCATIONS_MANAGE in principal.permissions


def reachable_location_ids(user_id: int) -> CompoundSelect[int]:
    """Ids of the locations granted to a user, by any of the three ways (see effective access)."""
    return union(
        select(r.LocationUserAccess.location_id).where(r.LocationUserAccess.user_id == user_id),
        select(r.LocationUserGroupAccess.location_id)
        .join(UserGroupMember, UserGroupMember.group_id == r.LocationUserGroupAccess.user_group_id)
        .where(UserGroupMember.user_id == user_id),
        select(r.LocationGroupLocation.location_id)
        .join(r.LocationGroupUser, r.LocationGroupUser.group_id == r.LocationGroupLocation.group_id)
        .where(r.LocationGroupUser.user_id == user_id),
    )


def location_visible(principal) -> ColumnElement[bool]:
    if principal.is_platform_admin:
        return true()
    granted = r.Location.id.in_(reachable_location_ids(principal.user_id))
    if sees_whole_subtree(principal):
        return or_(r.Location.organisation_id.in_(visible_organisation_ids(principal)), granted)
    return granted


def sees(principal, path: str, location_id: int | None, reachable: frozenset[int]) -> bool:
    """router_visible and location_visible in Python, on rows the live stream loaded once for all subscribers:
    a router (its organisation's path, the location it is at) or a location (its path, its id), given the
    ids of the locations granted to the subscriber."""
    if principal.is_platform_admin:
        return True
    if sees_whole_subtree(principal) and path and path_visible(principal, path):
        return True
    return location_id is not None and location_id in reachable


def location_managed(principal) -> ColumnElement[bool]:
    """Locations the caller may change (with LOCATIONS_MANAGE): those of the subtree, never granted ones."""
    if principal.is_platform_admin:
        return true()
    return r.Location.organisation_id.in_(visible_organisation_ids(principal))


def router_visible(principal) -> ColumnElement[bool]:
    """Routers of the subtree for managers (platform admins: all, also unassigned); for everybody
    else the routers at the locations they may reach."""
    if principal.is_platform_admin:
        return true()
    at_granted = r.Router.id.in_(
        select(r.Location.router_id).where(
            r.Location.id.in_(reachable_location_ids(principal.user_id)), r.Location.router_id.is_not(None)
        )
    )
    if sees_whole_subtree(principal):
        return or_(r.Router.organisation_id.in_(visible_organisation_ids(principal)), at_granted)
    return at_granted


def router_in_subtree(principal) -> ColumnElement[bool]:
    """Routers a reporter (ROUTERS_REPORT: the routers' API user) may send heartbeats for."""
    if principal.is_platform_admin:
        return true()
    return r.Router.organisation_id.in_(visible_organisation_ids(principal))


#: The manuals' names look like R_M26118014A81B88FB: "R_" and letters/digits (stored upper case).
COMMON_NAME = re.compile(r"R_[A-Z0-9]{1,61}")
MAX_SERIAL = 64
MAX_TEXT = 100


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


def location_group_visible(principal) -> ColumnElement[bool]:
    """Managers see the groups of their subtree; everybody else the groups they are in."""
    if principal.is_platform_admin:
        return r.LocationGroup.id.is_not(None)
    if sees_whole_subtree(principal):
        return r.LocationGroup.organisation_id.in_(visible_organisation_ids(principal))
    return r.LocationGroup.id.in_(
        select(r.LocationGroupUser.group_id).where(r.LocationGroupUser.user_id == principal.user_id)
    )


async def manages(info: Info, organisation_pk: int) -> bool:
    """Whether the caller manages locations of this organisation (reads all of their grants)."""
    principal = info.context.principal
    if principal.is_platform_admin:
        return True
    if not sees_whole_subtree(principal):
        return False
    row = await info.context.loaders(identity_loaders.organisations).load(organisation_pk)
    return row is not None and path_visible(principal, row.path)
