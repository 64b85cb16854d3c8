"""GraphQL types, inputs and DataLoaders of devices behind a location's router and of device templates."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

import strawberry
from sqlalchemy import false, select, true
from sqlalchemy.sql.elements import ColumnElement
from strawberry.types import Info

from graph.loaders import by_key, group_by
from graph.relay import Node, to_global_id
from graph.tenancy import visible_organisation_ids
from models import remote as r
from models.identity import Permission
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.remote import loaders
from resolvers.remote.scope import location_visible
from resolvers.remote.types import Location


@strawberry.enum(description="How a user reaches a device through the router's tunnel.")
class ServiceTypeEnum(enum.Enum):
    HTTP = strawberry.enum_value("HTTP", description="A web interface (default port 80; with a URL path).")
    HTTPS = strawberry.enum_value("HTTPS", description="A web interface over TLS (default port 443; with a URL path).")
    SSH = strawberry.enum_value("SSH", description="Secure shell (default port 22; with a login name).")
    TELNET = strawberry.enum_value("TELNET", description="Telnet (default port 23; with a login name).")
    RDP = strawberry.enum_value("RDP", description="Remote desktop (default port 3389; with a login name).")
    VNC = strawberry.enum_value("VNC", description="VNC screen sharing (default port 5900; with a login name).")
    TCP = strawberry.enum_value("TCP", description="Any other TCP port, e.g. a PLC's programming port (port required).")


# --- who sees which templates ---------------------------------------------------------------------------


def template_visible(principal) -> ColumnElement[bool]:
    """Templates are managed by LOCATIONS_MANAGE holders and seen by them only: those of the caller's
    subtree (platform admins: all). Everybody else sees none (a location device's `template` is null)."""
    if principal.is_platform_admin:
        return true()
    if Permission.LOCATIONS_MANAGE not in principal.permissions:
        return false()
    return r.DeviceTemplate.organisation_id.in_(visible_organisation_ids(principal))


# --- DataLoaders (one statement per batch) ----------------------------------------------------------------


async def devices_by_location(context, location_ids: Sequence[int]) -> list[list[r.LocationDevice]]:
    """The devices of locations already checked for visibility, by name."""
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.LocationDevice)
                .where(r.LocationDevice.location_id.in_(location_ids))
                .order_by(r.LocationDevice.name, r.LocationDevice.id)
            )
        ).all()
    return group_by([(row.location_id, row) for row in rows], location_ids)


async def device_services(context, device_ids: Sequence[int]) -> list[list[r.LocationDeviceService]]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.LocationDeviceService)
                .where(r.LocationDeviceService.device_id.in_(device_ids))
                .order_by(r.LocationDeviceService.id)
            )
        ).all()
    return group_by([(row.device_id, row) for row in rows], device_ids)


async def template_services(context, template_ids: Sequence[int]) -> list[list[r.DeviceTemplateService]]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.DeviceTemplateService)
                .where(r.DeviceTemplateService.template_id.in_(template_ids))
                .order_by(r.DeviceTemplateService.id)
            )
        ).all()
    return group_by([(row.template_id, row) for row in rows], template_ids)


async def visible_devices(context, ids: Sequence[int]) -> list[r.LocationDevice | None]:
    """Devices at locations the caller sees."""
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.LocationDevice)
                .join(r.Location, r.Location.id == r.LocationDevice.location_id)
                .where(r.LocationDevice.id.in_(ids), location_visible(context.principal))
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


async def visible_templates(context, ids: Sequence[int]) -> list[r.DeviceTemplate | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.DeviceTemplate).where(r.DeviceTemplate.id.in_(ids), template_visible(context.principal))
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


# --- output types -----------------------------------------------------------------------------------------


@strawberry.type(description="A remote access service of a device: how to reach it through the router.")
class RemoteAccessService:
    type: ServiceTypeEnum = strawberry.field(description="The kind of service.")
    port: int = strawberry.field(description="TCP port on the device (1-65535).")
    path: str = strawberry.field(description="URL path for HTTP and HTTPS (starts with /); empty for other types.")
    username: str = strawberry.field(
        description="Login name offered for SSH, TELNET, RDP and VNC; empty when not set (passwords are never stored)."
    )

    @classmethod
    def from_model(cls, row: r.LocationDeviceService | r.DeviceTemplateService) -> RemoteAccessService:
        return cls(type=ServiceTypeEnum(row.service_type.value), port=row.port, path=row.path, username=row.username)


@strawberry.type(description="A device (PLC, HMI, camera, ...) described once, to be copied to locations.")
class DeviceTemplate(Node):
    name: str = strawberry.field(description="Name, unique within its organisation.")
    description: str = strawberry.field(description="Description; may be empty.")
    ip_address: str = strawberry.field(
        description="IP address of the device behind the router (IPv4 or IPv6, normalised)."
    )
    inactive: bool = strawberry.field(description="Inactive templates are kept but cannot be applied to locations.")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: r.DeviceTemplate) -> DeviceTemplate:
        return cls(
            id=strawberry.ID(to_global_id("DeviceTemplate", row.id)),
            name=row.name,
            description=row.description,
            ip_address=row.ip_address,
            inactive=row.inactive,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(
        description="The organisation it belongs to (its locations and those of its descendants may use it)."
    )
    async def organisation(self, info: Info) -> Organisation | None:
        row = await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row) if row else None

    @strawberry.field(description="Its remote access services, in the order given.")
    async def services(self, info: Info) -> list[RemoteAccessService]:
        rows = await info.context.loaders(template_services).load(self.pk)
        return [RemoteAccessService.from_model(row) for row in rows]


@strawberry.type(
    description="A device behind a location's router (PLC, HMI, camera, PC, ...), reachable through its services."
)
class LocationDevice(Node):
    name: str = strawberry.field(description="Name, unique within its location.")
    description: str = strawberry.field(description="Description; may be empty.")
    ip_address: str = strawberry.field(description="IP address behind the router (IPv4 or IPv6, normalised).")
    created_at: datetime = strawberry.field(description="When it was added.")
    pk: strawberry.Private[int]
    location_pk: strawberry.Private[int]
    template_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: r.LocationDevice) -> LocationDevice:
        return cls(
            id=strawberry.ID(to_global_id("LocationDevice", row.id)),
            name=row.name,
            description=row.description,
            ip_address=row.ip_address,
            created_at=row.created_at,
            pk=row.id,
            location_pk=row.location_id,
            template_pk=row.template_id,
        )

    @strawberry.field(description="Its remote access services, in the order given.")
    async def services(self, info: Info) -> list[RemoteAccessService]:
        rows = await info.context.loaders(device_services).load(self.pk)
        return [RemoteAccessService.from_model(row) for row in rows]

    @strawberry.field(description="The location it is at.")
    async def location(self, info: Info) -> Location | None:
        row = await info.context.loaders(loaders.visible_locations).load(self.location_pk)
        return Location.from_model(row) if row else None

    @strawberry.field(
        description=(
            "The template it was copied from (a copy: later template edits do not reach it); null when it was not "
            "copied from one, the template was deleted, or you do not manage templates."
        )
    )
    async def template(self, info: Info) -> DeviceTemplate | None:
        if self.template_pk is None:
            return None
        row = await info.context.loaders(visible_templates).load(self.template_pk)
        return DeviceTemplate.from_model(row) if row else None


# --- inputs -----------------------------------------------------------------------------------------------


@strawberry.input(description="A remote access service of a device.")
class RemoteAccessServiceInput:
    type: ServiceTypeEnum = strawberry.field(description="The kind of service.")
    port: int | None = strawberry.field(
        default=None,
        description="TCP port (1-65535); default per type: HTTP 80, HTTPS 443, SSH 22, TELNET 23, RDP 3389, VNC 5900 (TCP needs one).",
    )
    path: str | None = strawberry.field(
        default=None, description="URL path, HTTP and HTTPS only: starts with /, at most 200 characters (default /)."
    )
    username: str | None = strawberry.field(
        default=None,
        description="Login name to offer, SSH, TELNET, RDP and VNC only: at most 100 characters, no spaces.",
    )
