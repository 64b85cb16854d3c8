"""Local network (manual §14): the organisation's defaults every new location copies, and a location's own."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.mutations import mutate
from graph.permissions import needs, require_principal
from models import portal as pt
from models.identity import Permission
from resolvers.remote.errors import RemoteError
from resolvers.remote.local_network.rules import set_defaults, set_location_network
from resolvers.remote.local_network.types import NetworkSettings
from resolvers.remote.locations.schema import LocationPayload, location_payload


@strawberry.input(description="The organisation's default local network behind its routers.")
class NetworkDefaultsSetInput:
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="An organisation of your subtree (a customer); default your own."
    )
    subnet: str = strawberry.field(description="Private IPv4 subnet in CIDR notation (/8 to /30), e.g. 192.168.1.0/24.")
    gateway: str = strawberry.field(description="The gateway: an address inside the subnet (not its first or last).")
    dns_servers: list[str] = strawberry.field(
        default_factory=list, description="Up to 3 DNS server addresses (IPv4 or IPv6), in order of preference."
    )


@strawberry.input(description="A location's own local network settings.")
class LocationNetworkSetInput:
    location_id: strawberry.ID = strawberry.field(description="The location (of your subtree).")
    subnet: str = strawberry.field(description="Private IPv4 subnet in CIDR notation (/8 to /30).")
    gateway: str = strawberry.field(description="The gateway: an address inside the subnet (not its first or last).")
    dns_servers: list[str] = strawberry.field(
        default_factory=list, description="Up to 3 DNS server addresses (IPv4 or IPv6), in order of preference."
    )


@strawberry.type(description="The defaults now, or why they were refused.")
class NetworkDefaultsPayload:
    settings: NetworkSettings | None = strawberry.field(description="The defaults; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why they were refused (nothing changed).")


@strawberry.type
class LocalNetworkQuery:
    @strawberry.field(
        description="Your organisation's default local network, which new locations copy; null when it has none.",
        permission_classes=[needs(Permission.PORTAL_MANAGE)],
    )
    async def local_network_defaults(self, info: Info) -> NetworkSettings | None:
        principal = require_principal(info.context)
        async with info.context.session() as session:
            row = await session.get(pt.NetworkDefaults, principal.organisation_id)
            return NetworkSettings.from_model(row) if row else None


@strawberry.type
class LocalNetworkMutation:
    @strawberry.mutation(
        description=(
            "Set an organisation's default local network. New locations (also of its sub-organisations without "
            "their own) get a copy; existing locations keep theirs."
        ),
        permission_classes=[needs(Permission.PORTAL_MANAGE)],
    )
    async def local_network_defaults_set(self, info: Info, input: NetworkDefaultsSetInput) -> NetworkDefaultsPayload:
        context = info.context
        return await mutate(
            context,
            NetworkDefaultsPayload,
            lambda s: set_defaults(s, context, input.organisation_id, input.subnet, input.gateway, input.dns_servers),
            lambda row: NetworkDefaultsPayload(settings=NetworkSettings.from_model(row), errors=[]),
        )

    @strawberry.mutation(
        description="Set a location's own local network (its router must be set up the same: see localNetwork).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_network_set(self, info: Info, input: LocationNetworkSetInput) -> LocationPayload:
        context = info.context
        return await mutate(
            context,
            LocationPayload,
            lambda s: set_location_network(
                s, context, input.location_id, input.subnet, input.gateway, input.dns_servers
            ),
            location_payload,
        )
