"""GraphQL types of remote clients."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from graph.relay import Node, to_global_id
from models import clients as cl
from models.base import utcnow
from resolvers.remote.clients.rules import connected


@strawberry.enum(description="Whether a client is connected to the servers, from its heartbeats.")
class ClientConnectionStatus(enum.Enum):
    CONNECTED = strawberry.enum_value("CONNECTED", description="Its last heartbeat is recent.")
    DISCONNECTED = strawberry.enum_value(
        "DISCONNECTED",
        description="No heartbeat for longer than FLEETGRAPH_CLIENT_OFFLINE_AFTER_SECONDS, or none yet.",
    )


def status_of(last_heartbeat_at: datetime | None, info: Info) -> ClientConnectionStatus:
    seconds = info.context.runtime.settings.client_offline_after_seconds
    if connected(last_heartbeat_at, utcnow(), seconds):
        return ClientConnectionStatus.CONNECTED
    return ClientConnectionStatus.DISCONNECTED


@strawberry.type(description="A desktop client (the program that holds your tunnels) paired with your account.")
class RemoteClient(Node):
    name: str = strawberry.field(description="The name given when pairing.")
    version: str = strawberry.field(description="What the client reported about itself at registration; may be empty.")
    paired_at: datetime | None = strawberry.field(description="When it was paired.")
    last_heartbeat_at: datetime | None = strawberry.field(description="When its last heartbeat arrived, or null.")

    @classmethod
    def from_model(cls, row: cl.RemoteClient) -> RemoteClient:
        return cls(
            id=strawberry.ID(to_global_id("RemoteClient", row.id)),
            name=row.name,
            version=row.version,
            paired_at=row.paired_at,
            last_heartbeat_at=row.last_heartbeat_at,
        )

    @strawberry.field(
        description="The issue's clientConnectionStatus: connected to the servers or not, from its heartbeats."
    )
    def connection_status(self, info: Info) -> ClientConnectionStatus:
        return status_of(self.last_heartbeat_at, info)
