"""GraphQL types of local networks: an organisation's defaults and a location's own settings."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import portal as pt
from resolvers.remote.local_network.addresses import same_network
from resolvers.remote.local_network.loaders import LocationNetworkRow


@strawberry.type(description="Settings of the local network behind a router (manual §14).")
class NetworkSettings:
    subnet: str = strawberry.field(description="The IPv4 subnet in CIDR notation, e.g. 192.168.1.0/24.")
    gateway: str = strawberry.field(description="The gateway's address (inside the subnet).")
    dns_servers: list[str] = strawberry.field(description="DNS servers, in order of preference (at most 3).")
    updated_at: datetime = strawberry.field(description="When they were last set.")

    @classmethod
    def from_model(cls, row: pt.NetworkDefaults | pt.LocationNetwork) -> NetworkSettings:
        return cls(subnet=row.subnet, gateway=row.gateway, dns_servers=list(row.dns_servers), updated_at=row.updated_at)


@strawberry.type(description="A location's local network: its settings and whether its router reports the same.")
class LocationLocalNetwork:
    settings: NetworkSettings | None = strawberry.field(
        description="Its settings (a copy of the organisation's defaults when it was created); null when none."
    )
    reported_subnet: str | None = strawberry.field(
        description="The LAN subnet its router last reported; null without a router or a report of it."
    )
    matches_router: bool | None = strawberry.field(
        description="Whether the router reports the configured subnet; null when either is unknown."
    )

    @classmethod
    def from_row(cls, row: LocationNetworkRow) -> LocationLocalNetwork:
        configured = row.network.subnet if row.network else None
        return cls(
            settings=NetworkSettings.from_model(row.network) if row.network else None,
            reported_subnet=row.reported_subnet,
            matches_router=same_network(configured, row.reported_subnet),
        )
