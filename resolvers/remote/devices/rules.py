"""Devices behind a location's router: their validation (shared with device templates), the domain
functions and the locationDevice* mutations.

Only locations of the caller's subtree are changed (LOCATIONS_MANAGE; a location granted from another
organisation is seen, never managed); another tenant's location or device reads like an unknown one.
Every refusal rolls the whole mutation back.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.relay import decode_id
from graph.rules import UNSET, clean_text, flush_unique
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.scope import location_managed, visible_location

MAX_NAME = 200
MAX_DESCRIPTION = 1000
MAX_SERVICES = 20
MAX_PATH = 200
MAX_USERNAME = 100
DEFAULT_PORTS = {
    r.ServiceType.HTTP: 80,
    r.ServiceType.HTTPS: 443,
    r.ServiceType.SSH: 22,
    r.ServiceType.TELNET: 23,
    r.ServiceType.RDP: 3389,
    r.ServiceType.VNC: 5900,
}


WITH_PATH = {r.ServiceType.HTTP, r.ServiceType.HTTPS}
WITH_USERNAME = {r.ServiceType.SSH, r.ServiceType.TELNET, r.ServiceType.RDP, r.ServiceType.VNC}
BROADCAST = ipaddress.IPv4Address("255.255.255.255")


@dataclass
class ServiceSpec:
    """One remote access service as given (validated by clean_services)."""

    service_type: r.ServiceType
    port: int | None = None
    path: str | None = None
    username: str | None = None


@dataclass
class DeviceFields:
    """What a location device and a device template have in common, validated."""

    name: str
    description: str
    ip_address: str
    services: list[ServiceSpec] = field(default_factory=list)


def clean_name(value: str | None, field: str | list[str] = "name") -> str:
    value = clean_text(value, field, max_length=MAX_NAME, required=False)
    if not value:
        raise DomainError(Code.REQUIRED, "A name is required.", field)
    return value


def clean_description(value: str | None, field: str | list[str] = "description") -> str:
    return clean_text(value, field, max_length=MAX_DESCRIPTION, required=False)


def clean_ip_address(value: str | None, field: str | list[str] = "ipAddress") -> str:
    """One host address, IPv4 or IPv6, stored compressed (fd00:0:0::0010 -> fd00::10). Networks, host
    names, zone indices and addresses that name no single device behind a router are refused."""
    raw = (value or "").strip()
    if not raw:
        raise DomainError(Code.REQUIRED, "An IP address is required.", field)
    if "/" in raw:
        raise DomainError(Code.INVALID, "A single IP address, not a network.", field)
    if "%" in raw:  # fe80::1%eth0: the zone is the router's business, not part of the device's address
        raise DomainError(Code.INVALID, "An IP address without a zone index (%...).", field)
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        raise DomainError(
            Code.INVALID,
            "Not an IP address: give IPv4 (e.g. 192.168.1.10) or IPv6 (e.g. fd00::10), not a host name.",
            field,
        ) from None
    # ::ffff:127.0.0.1 is 127.0.0.1 in disguise
    plain = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped else address
    for refused, what in (
        (plain.is_unspecified, "the unspecified address"),
        (plain.is_loopback, "a loopback address"),
        (plain.is_multicast, "a multicast address"),
        (plain == BROADCAST, "the broadcast address"),
    ):
        if refused:
            raise DomainError(Code.INVALID, f"Not the address of a device: {what}.", field)
    if plain is not address:  # written the same on every Python version (3.13 changed str() of these)
        return f"::ffff:{plain}"
    return address.compressed


def _plain_token(value: str) -> bool:
    """No whitespace and no control (or other invisible format) characters."""
    return not any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in value)


def clean_services(given: list[ServiceSpec] | None, field: str = "services") -> list[ServiceSpec]:
    """Validated services with defaults filled in; error paths like ["services", "0", "port"]."""
    given = list(given or [])
    if len(given) > MAX_SERVICES:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_SERVICES} remote access services per device.", field)
    cleaned: list[ServiceSpec] = []
    seen: set[tuple] = set()
    for index, service in enumerate(given):
        at = [field, str(index)]
        kind = r.ServiceType(service.service_type)
        port = service.port
        if port is None:
            if kind not in DEFAULT_PORTS:
                raise DomainError(Code.REQUIRED, f"A port is required for {kind.value}.", [*at, "port"])
            port = DEFAULT_PORTS[kind]
        elif isinstance(port, bool) or not 1 <= port <= 65535:
            raise DomainError(Code.INVALID, "A port is between 1 and 65535.", [*at, "port"])
        path = (service.path or "").strip()
        if kind in WITH_PATH:
            path = path or "/"
            if len(path) > MAX_PATH:
                raise DomainError(Code.TOO_LONG, f"At most {MAX_PATH} characters.", [*at, "path"])
            if not path.startswith("/") or not _plain_token(path):
                raise DomainError(
                    Code.INVALID, "A URL path starts with / and has no spaces or control characters.", [*at, "path"]
                )
        elif path:
            raise DomainError(Code.INVALID, "Only HTTP and HTTPS services have a path.", [*at, "path"])
        username = (service.username or "").strip()
        if username and kind not in WITH_USERNAME:
            raise DomainError(
                Code.INVALID, "Only SSH, TELNET, RDP and VNC services have a login name.", [*at, "username"]
            )
        if len(username) > MAX_USERNAME:
            raise DomainError(Code.TOO_LONG, f"At most {MAX_USERNAME} characters.", [*at, "username"])
        if not _plain_token(username):
            raise DomainError(Code.INVALID, "A login name has no spaces or control characters.", [*at, "username"])
        spec = ServiceSpec(service_type=kind, port=port, path=path, username=username)
        key = (kind, port, path, username)
        if key in seen:
            raise DomainError(Code.DUPLICATE, "The same service is listed twice.", at)
        seen.add(key)
        cleaned.append(spec)
    return cleaned


def clean_fields(
    name: str | None, description: str | None, ip_address: str | None, services: list[ServiceSpec] | None
) -> DeviceFields:
    return DeviceFields(
        name=clean_name(name),
        description=clean_description(description),
        ip_address=clean_ip_address(ip_address),
        services=clean_services(services),
    )


def service_rows(model, owner: dict, services: list[ServiceSpec]) -> list:
    """Rows of `model` (LocationDeviceService or DeviceTemplateService) for validated services."""
    return [
        model(**owner, service_type=s.service_type, port=s.port, path=s.path, username=s.username) for s in services
    ]


def as_specs(rows) -> list[ServiceSpec]:
    """Stored services (of a device or a template) as specs, to copy them."""
    return [
        ServiceSpec(service_type=row.service_type, port=row.port, path=row.path, username=row.username) for row in rows
    ]


async def managed_device(
    session: AsyncSession, context: Context, global_id: str, field: str = "id"
) -> tuple[r.LocationDevice, r.Location]:
    """A device at a location of the caller's subtree (anything else reads like an unknown device)."""
    pk = decode_id(global_id, "LocationDevice")
    row = None
    if pk is not None:
        row = (
            await session.execute(
                select(r.LocationDevice, r.Location)
                .join(r.Location, r.Location.id == r.LocationDevice.location_id)
                .where(r.LocationDevice.id == pk, location_managed(context.principal))
            )
        ).first()
    if row is None:
        raise DomainError(Code.NOT_FOUND, "No such device.", field)
    return row[0], row[1]


async def device_services(session: AsyncSession, device_id: int) -> list[r.LocationDeviceService]:
    return list(
        (
            await session.scalars(
                select(r.LocationDeviceService)
                .where(r.LocationDeviceService.device_id == device_id)
                .order_by(r.LocationDeviceService.id)
            )
        ).all()
    )


async def check_device_name(
    session: AsyncSession, location_id: int, name: str, except_id: int | None = None, field: str = "name"
) -> None:
    taken = exists().where(
        r.LocationDevice.location_id == location_id,
        r.LocationDevice.name == name,
        r.LocationDevice.id != (except_id or 0),
    )
    if await session.scalar(select(taken)):
        raise DomainError(Code.DUPLICATE, "The location already has a device with this name.", field)


async def flush_device(session: AsyncSession, field: str = "name") -> None:
    # the same name added at the same moment by someone else
    await flush_unique(session, DomainError(Code.DUPLICATE, "The location already has a device with this name.", field))


async def add_device(
    session: AsyncSession,
    location: r.Location,
    fields: DeviceFields,
    *,
    template_id: int | None = None,
    linked: bool = False,
    name_field: str = "name",
) -> r.LocationDevice:
    """Store a validated device with its services (used by create and by applying or linking a template)."""
    await check_device_name(session, location.id, fields.name, field=name_field)
    device = r.LocationDevice(
        location_id=location.id,
        name=fields.name,
        description=fields.description,
        ip_address=fields.ip_address,
        template_id=template_id,
        template_linked=linked,
    )
    session.add(device)
    await flush_device(session, name_field)
    session.add_all(service_rows(r.LocationDeviceService, {"device_id": device.id}, fields.services))
    await session.flush()
    return device


async def create_device(
    session: AsyncSession,
    context: Context,
    location_id: str,
    *,
    name: str | None,
    description: str | None,
    ip_address: str | None,
    services: list[ServiceSpec] | None,
) -> r.LocationDevice:
    fields = clean_fields(name, description, ip_address, services)
    location = await visible_location(session, context, location_id, "locationId", managed=True)
    device = await add_device(session, location, fields)
    await record(
        session,
        context,
        "location.device_created",
        organisation_id=location.organisation_id,
        target_type="LocationDevice",
        target_id=device.id,
        details={"locationId": location.id, "name": device.name, "ipAddress": device.ip_address},
    )
    return device


async def update_device(
    session: AsyncSession,
    context: Context,
    device_id: str,
    *,
    name=UNSET,
    description=UNSET,
    ip_address=UNSET,
    services=UNSET,
) -> r.LocationDevice:
    """Fields left out (UNSET) stay; given services replace the list (null or [] removes them all)."""
    device, location = await managed_device(session, context, device_id)
    followed = [
        f
        for f, v in (("description", description), ("ipAddress", ip_address), ("services", services))
        if v is not UNSET
    ]
    if device.template_linked and followed:
        raise DomainError(
            Code.TEMPLATE_LINKED,
            "The device follows its linked template: change the template, or copy it as the location's own first.",
            followed[0],
        )
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = new_name = clean_name(name)
        await check_device_name(session, location.id, new_name, device.id)
    if description is not UNSET:
        changes["description"] = clean_description(description)
    if ip_address is not UNSET:
        changes["ip_address"] = clean_ip_address(ip_address)
    new_services = clean_services(services) if services is not UNSET else None
    for key, value in changes.items():
        setattr(device, key, value)
    await flush_device(session)
    if new_services is not None:
        await session.execute(delete(r.LocationDeviceService).where(r.LocationDeviceService.device_id == device.id))
        session.add_all(service_rows(r.LocationDeviceService, {"device_id": device.id}, new_services))
        await session.flush()
    changed = sorted(changes) + (["services"] if new_services is not None else [])
    if changed:
        await record(
            session,
            context,
            "location.device_updated",
            organisation_id=location.organisation_id,
            target_type="LocationDevice",
            target_id=device.id,
            details={"locationId": location.id, "name": device.name, "fields": changed},
        )
    return device


async def delete_device(session: AsyncSession, context: Context, device_id: str) -> int:
    device, location = await managed_device(session, context, device_id)
    pk, name = device.id, device.name
    await session.delete(device)  # its services go with it (ON DELETE CASCADE)
    await session.flush()
    await record(
        session,
        context,
        "location.device_deleted",
        organisation_id=location.organisation_id,
        target_type="LocationDevice",
        target_id=pk,
        details={"locationId": location.id, "name": name},
    )
    return pk
