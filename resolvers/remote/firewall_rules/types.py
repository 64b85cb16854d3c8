"""GraphQL types of firewall rules."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graph.relay import Node, to_global_id
from models import portal as pt

DirectionEnum = strawberry.enum(
    pt.FirewallDirection, description="Traffic into the network behind the routers (INBOUND) or out of it."
)
ProtocolEnum = strawberry.enum(pt.FirewallProtocol, description="The protocol a firewall rule applies to.")


@strawberry.type(description="A firewall rule of an organisation's routers (manual §12); kept by the platform.")
class FirewallRule(Node):
    direction: DirectionEnum = strawberry.field(description="INBOUND or OUTBOUND.")  # type: ignore[valid-type]
    protocol: ProtocolEnum = strawberry.field(description="TCP, UDP, ICMP or ANY.")  # type: ignore[valid-type]
    ports: str = strawberry.field(description='The port ("443"), the range ("8000-8100"), or "any".')
    port_from: int | None = strawberry.field(description="First port; null for every port.")
    port_to: int | None = strawberry.field(
        description="Last port (the first one for a single port); null for every port."
    )
    source: str = strawberry.field(description="Source network in CIDR notation (0.0.0.0/0: anywhere).")
    destination: str = strawberry.field(description="Destination network in CIDR notation.")
    description: str = strawberry.field(description="What the rule is for; may be empty.")
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def from_model(cls, row: pt.FirewallRule) -> FirewallRule:
        if row.port_from is None:
            ports = "any"
        else:
            ports = str(row.port_from) if row.port_to == row.port_from else f"{row.port_from}-{row.port_to}"
        return cls(
            id=strawberry.ID(to_global_id("FirewallRule", row.id)),
            direction=row.direction,
            protocol=row.protocol,
            ports=ports,
            port_from=row.port_from,
            port_to=row.port_to,
            source=row.source,
            destination=row.destination,
            description=row.description,
            created_at=row.created_at,
        )
