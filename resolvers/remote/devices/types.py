"""GraphQL types of location devices and their remote access services."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import remote as r
from resolvers.remote.devices.loaders import device_services
from resolvers.remote.locations.loaders import visible_locations
from resolvers.remote.locations.types import Location
from resolvers.remote.templates.loaders import visible_templates

if TYPE_CHECKING:  # DeviceTemplate lists its services as RemoteAccessService: named lazily below
    from resolvers.remote.templates.types import DeviceTemplate


@strawberry.enum(description="How a user reaches a device through the router's tunnel.")
class ServiceTypeEnum(enum.Enum):
    HTTP = strawberry.enum_value("HTTP", description="A web interface (default port 80; with a URL path).")
    HTTPS = strawberry.enum_value("HTTPS", description="A web interface over TLS (default port 443; with a URL path).")
    SSH = strawberry.enum_value("SSH", description="Secure shell (default port 22; with a login name).")
    TELNET = strawberry.enum_value("TELNET", description="Telnet (default port 23; with a login name).")
    RDP = strawberry.enum_value("RDP", description="Remote desktop (default port 3389; with a login name).")
    VNC = strawberry.enum_value("VNC", description="VNC screen sharing (default port 5900; with a login name).")
    TCP = strawberry.enum_value("TCP", description="Any other TCP port, e.g. a PLC's programming port (port required).")


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


@strawberry.type(
    description="A device behind a location's router (PLC, HMI, camera, PC, ...), reachable through its services."
)
class LocationDevice(Node):
    name: str = strawberry.field(description="Name, unique within its location.")
    description: str = strawberry.field(description="Description; may be empty.")
    ip_address: str = strawberry.field(description="IP address behind the router (IPv4 or IPv6, normalised).")
    created_at: datetime = strawberry.field(description="When it was added.")
    template_linked: bool = strawberry.field(
        description=(
            "Whether it follows its template: true while the template is linked to the location (its edits reach "
            "this device), false for a copy or a device of its own."
        )
    )
    pk: strawberry.Private[int]
    location_pk: strawberry.Private[int]
    template_pk: strawberry.Private[int | None]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: r.LocationDevice) -> LocationDevice:
        return cls(
            id=strawberry.ID(to_global_id("LocationDevice", row.id)),
            name=row.name,
            description=row.description,
            ip_address=row.ip_address,
            created_at=row.created_at,
            template_linked=row.template_linked,
            pk=row.id,
            location_pk=row.location_id,
            template_pk=row.template_id,
        )

    @strawberry.field(description="Its remote access services, in the order given.")
    @relation(Batched(device_services, key=lambda device: device.pk, build=RemoteAccessService.from_model, many=True))
    def services(self, info: Info) -> list[RemoteAccessService]: ...

    @strawberry.field(description="The location it is at.")
    @relation(Batched(visible_locations, key=lambda device: device.location_pk, build=Location.from_model))
    def location(self, info: Info) -> Location | None: ...

    @strawberry.field(
        description=(
            "The template it was copied from or is linked to (templateLinked); null when none, the template was "
            "deleted, or you do not manage templates."
        )
    )
    @relation(
        Batched(
            visible_templates, key=lambda device: device.template_pk, build=lambda row: _template_type().from_model(row)
        )
    )
    def template(
        self, info: Info
    ) -> Annotated[DeviceTemplate, strawberry.lazy("resolvers.remote.templates.types")] | None: ...


def _template_type() -> type[DeviceTemplate]:
    # imported when used: a template lists its services as RemoteAccessService, so the two modules import each other
    from resolvers.remote.templates.types import DeviceTemplate

    return DeviceTemplate
