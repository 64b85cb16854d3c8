"""An organisation's default local network (PORTAL_MANAGE), a location's own (LOCATIONS_MANAGE), and the copy a
new location gets.

New locations inherit from the nearest organisation up the tree that has defaults (a reseller's defaults reach
the locations of its customers until they set their own). The copy is taken once: changing the defaults later
does not change existing locations, whose routers are already set up."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.permissions import require_principal
from graph.tenancy import target_organisation
from models import identity as m
from models import portal as pt
from models import remote as r
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.remote.local_network.addresses import NetworkSettings, check_network_settings
from resolvers.remote.scope import visible_location


async def _store(session: AsyncSession, model: Any, key: dict[str, int], settings: NetworkSettings) -> Any:
    """The organisation's or location's settings row (made when missing), with the checked settings in it."""
    row = await session.get(model, next(iter(key.values())), with_for_update=True)
    if row is None:
        row = model(**key)
        session.add(row)
    row.subnet, row.gateway, row.dns_servers, row.updated_at = (
        settings.subnet,
        settings.gateway,
        settings.dns_servers,
        utcnow(),
    )
    await session.flush()
    return row


def _details(settings: NetworkSettings) -> dict[str, Any]:
    return {"subnet": settings.subnet, "gateway": settings.gateway, "dnsServers": settings.dns_servers}


async def set_defaults(
    session: AsyncSession,
    context: Context,
    organisation_id: str | None,
    subnet: str,
    gateway: str,
    dns_servers: list[str],
) -> pt.NetworkDefaults:
    organisation = await target_organisation(session, require_principal(context), organisation_id, "organisationId")
    settings = check_network_settings(subnet, gateway, dns_servers)
    row = await _store(session, pt.NetworkDefaults, {"organisation_id": organisation.id}, settings)
    await record(
        session,
        context,
        "network_defaults.set",
        organisation_id=organisation.id,
        target_type="Organisation",
        target_id=organisation.id,
        details=_details(settings),
    )
    return row


async def set_location_network(
    session: AsyncSession, context: Context, location_id: str, subnet: str, gateway: str, dns_servers: list[str]
) -> r.Location:
    location = await visible_location(session, context, location_id, "locationId", managed=True)
    settings = check_network_settings(subnet, gateway, dns_servers)
    await _store(session, pt.LocationNetwork, {"location_id": location.id}, settings)
    await record(
        session,
        context,
        "location.network_set",
        organisation_id=location.organisation_id,
        target_type="Location",
        target_id=location.id,
        details=_details(settings),
    )
    return location


async def copy_defaults(session: AsyncSession, location: r.Location) -> pt.LocationNetwork | None:
    """Give a new location a copy of the nearest defaults up its organisation's tree (one statement)."""
    own_path = select(m.Organisation.path).where(m.Organisation.id == location.organisation_id).scalar_subquery()
    defaults = await session.scalar(
        select(pt.NetworkDefaults)
        .join(m.Organisation, m.Organisation.id == pt.NetworkDefaults.organisation_id)
        # an ancestor's path ("/1/4/") is a prefix of the organisation's own ("/1/4/9/")
        .where(func.substr(own_path, 1, func.length(m.Organisation.path)) == m.Organisation.path)
        .order_by(func.length(m.Organisation.path).desc())
        .limit(1)
    )
    if defaults is None:
        return None
    copy = pt.LocationNetwork(
        location_id=location.id,
        subnet=defaults.subnet,
        gateway=defaults.gateway,
        dns_servers=list(defaults.dns_servers),
        updated_at=utcnow(),
    )
    session.add(copy)
    await session.flush()
    return copy
