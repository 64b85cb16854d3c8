"""Location devices: create, update, delete."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import node_loader
from graph.rules import UNSET
from models import remote as r
from models.identity import Permission
from resolvers.remote.devices.loaders import visible_devices
from resolvers.remote.devices.rules import ServiceSpec, create_device, delete_device, update_device
from resolvers.remote.devices.types import LocationDevice, ServiceTypeEnum
from resolvers.remote.errors import RemoteError


@strawberry.input(description="A remote access service of a device.")
class RemoteAccessServiceInput:
    type: ServiceTypeEnum = strawberry.field(description="The kind of service.")
    port: int | None = strawberry.field(
        default=None,
        description=(
            "TCP port (1-65535); default per type: HTTP 80, HTTPS 443, SSH 22, TELNET 23, RDP 3389, VNC 5900 "
            "(TCP needs one)."
        ),
    )
    path: str | None = strawberry.field(
        default=None, description="URL path, HTTP and HTTPS only: starts with /, at most 200 characters (default /)."
    )
    username: str | None = strawberry.field(
        default=None,
        description="Login name to offer, SSH, TELNET, RDP and VNC only: at most 100 characters, no spaces.",
    )


def specs(given: list[RemoteAccessServiceInput] | None) -> list[ServiceSpec] | None:
    if given is None:
        return None
    # ServiceTypeEnum names its members as the model's ServiceType does (its values are enum_value definitions)
    return [
        ServiceSpec(service_type=r.ServiceType[s.type.name], port=s.port, path=s.path, username=s.username)
        for s in given
    ]


@strawberry.input(description="A new device behind a location's router.")
class LocationDeviceCreateInput:
    location_id: strawberry.ID = strawberry.field(description="The location (of your organisation's subtree).")
    name: str = strawberry.field(description="Name, unique within the location (at most 200 characters).")
    ip_address: str = strawberry.field(
        description=(
            "IP address behind the router: one host address, IPv4 or IPv6 (stored compressed); no networks or "
            "host names."
        )
    )
    description: str | None = strawberry.field(default=None, description="Description (at most 1000 characters).")
    services: list[RemoteAccessServiceInput] | None = strawberry.field(
        default=None, description="Its remote access services (at most 20)."
    )


@strawberry.input(description="Change a device; fields left out stay as they are.")
class LocationDeviceUpdateInput:
    id: strawberry.ID = strawberry.field(description="The device.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description (null empties it)."
    )
    ip_address: str | None = strawberry.field(default=strawberry.UNSET, description="New IP address.")
    services: list[RemoteAccessServiceInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The new list of services, replacing the old one (null or [] removes them all).",
    )


@strawberry.input(description="A device to delete.")
class LocationDeviceDeleteInput:
    id: strawberry.ID = strawberry.field(description="The device.")


@strawberry.type(description="The device, or why the change was refused.")
class LocationDevicePayload:
    device: LocationDevice | None = strawberry.field(description="The device; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted device's ID, or why it was refused.")
class LocationDeviceDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted device; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


def device_payload(result) -> LocationDevicePayload:
    return LocationDevicePayload(device=LocationDevice.from_model(result), errors=[])


@strawberry.type
class LocationDeviceMutation:
    @strawberry.mutation(
        description="Add a device behind a location's router.", permission_classes=[needs(Permission.LOCATIONS_MANAGE)]
    )
    async def location_device_create(self, info: Info, input: LocationDeviceCreateInput) -> LocationDevicePayload:
        return await mutate(
            info.context,
            LocationDevicePayload,
            lambda s: create_device(
                s,
                info.context,
                input.location_id,
                name=input.name,
                description=input.description,
                ip_address=input.ip_address,
                services=specs(input.services),
            ),
            device_payload,
        )

    @strawberry.mutation(
        description="Change a device behind a location's router; given services replace its list.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_device_update(self, info: Info, input: LocationDeviceUpdateInput) -> LocationDevicePayload:
        services = input.services
        return await mutate(
            info.context,
            LocationDevicePayload,
            lambda s: update_device(
                s,
                info.context,
                input.id,
                name=input.name,
                description=input.description,
                ip_address=input.ip_address,
                services=services if services is UNSET else specs(services) or [],
            ),
            device_payload,
        )

    @strawberry.mutation(
        description="Delete a device behind a location's router.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_device_delete(self, info: Info, input: LocationDeviceDeleteInput) -> LocationDeviceDeletePayload:
        return await mutate(
            info.context,
            LocationDeviceDeletePayload,
            lambda s: delete_device(s, info.context, input.id),
            lambda result: LocationDeviceDeletePayload(deleted_id=input.id, errors=[]),
        )


NODE_RESOLVERS = {
    "LocationDevice": (Permission.LOCATIONS_READ, node_loader(visible_devices, LocationDevice.from_model)),
}
