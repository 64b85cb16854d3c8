"""GraphQL type of device templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import remote as r
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.remote.devices.types import RemoteAccessService
from resolvers.remote.templates.loaders import template_services


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
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

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
    @relation(
        Batched(
            identity_loaders.organisations,
            key=lambda template: template.organisation_pk,
            build=Organisation.from_model,
        )
    )
    def organisation(self, info: Info) -> Organisation | None: ...

    @strawberry.field(description="Its remote access services, in the order given.")
    @relation(
        Batched(
            template_services,
            key=lambda template: template.pk,
            build=RemoteAccessService.from_model,
            many=True,
        )
    )
    def services(self, info: Info) -> list[RemoteAccessService]: ...
