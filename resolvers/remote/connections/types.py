"""GraphQL types and DataLoaders of connections through a router: RemoteConnection (a Node, global ID
type "RemoteConnection"), the caller's last refusal, and an organisation's connection licence.

Who sees a connection: platform admins all; managers (LOCATIONS_MANAGE) those at the locations of
their subtree; everybody their own.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import remote as r
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.types import User
from resolvers.remote.access.loaders import users
from resolvers.remote.connections.loaders import visible_connections
from resolvers.remote.locations.loaders import visible_locations
from resolvers.remote.locations.types import Location
from resolvers.remote.routers.loaders import visible_routers
from resolvers.remote.routers.types import Router


@strawberry.enum(description="Why a connection ended.")
class ConnectionEndReason(enum.Enum):
    DISCONNECTED = strawberry.enum_value("DISCONNECTED", description="The user (or a manager) disconnected.")
    ROUTER_OFFLINE = strawberry.enum_value("ROUTER_OFFLINE", description="The router went offline.")
    ACCESS_REVOKED = strawberry.enum_value(
        "ACCESS_REVOKED", description="The user's access to the location was withdrawn."
    )


@strawberry.type(description="A user's connection through a location's router: active until it ends, history after.")
class RemoteConnection(Node):
    router_common_name: str = strawberry.field(description="The router's common name when the connection was made.")
    device_name: str = strawberry.field(description="The device behind the router the user asked for; empty for none.")
    started_at: datetime = strawberry.field(description="When it was made.")
    ended_at: datetime | None = strawberry.field(description="When it ended; null while active.")
    end_reason: ConnectionEndReason | None = strawberry.field(description="Why it ended; null while active.")
    duration: int | None = strawberry.field(description="How long it lasted in whole seconds; null while active.")
    active: bool = strawberry.field(description="Whether it is still active.")
    pk: strawberry.Private[int]
    user_pk: strawberry.Private[int]
    location_pk: strawberry.Private[int]
    router_pk: strawberry.Private[int | None]
    organisation_pk: strawberry.Private[int]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: r.RouterConnection) -> RemoteConnection:
        ended = row.ended_at
        return cls(
            id=strawberry.ID(to_global_id("RemoteConnection", row.id)),
            router_common_name=row.router_common_name,
            device_name=row.device_name,
            started_at=row.started_at,
            ended_at=ended,
            end_reason=ConnectionEndReason(row.end_reason.value) if row.end_reason else None,
            duration=int((ended - row.started_at).total_seconds()) if ended else None,
            active=ended is None,
            pk=row.id,
            user_pk=row.user_id,
            location_pk=row.location_id,
            router_pk=row.router_id,
            organisation_pk=row.organisation_id,
        )

    # Unscoped user rows: the connection was checked for visibility, and an external user's name is shown
    # to the managers who let them in.
    @strawberry.field(description="Name of the connected user.")
    async def user_name(self, info: Info) -> str:
        found = await info.context.loaders(users).load(self.user_pk)
        return found.name if found else ""

    @strawberry.field(description="E-mail address of the connected user.")
    async def user_email(self, info: Info) -> str:
        found = await info.context.loaders(users).load(self.user_pk)
        return found.email if found else ""

    @strawberry.field(
        description="The connected user, when in your organisation's subtree (null for an external user)."
    )
    @relation(Batched(identity_loaders.visible_users, key=lambda connection: connection.user_pk, build=User.from_model))
    def user(self, info: Info) -> User | None: ...

    @strawberry.field(description="The location connected to (null if you can no longer see it).")
    @relation(Batched(visible_locations, key=lambda connection: connection.location_pk, build=Location.from_model))
    def location(self, info: Info) -> Location | None: ...

    @strawberry.field(description="The router, as it is now (null when gone or no longer yours to see).")
    @relation(Batched(visible_routers, key=lambda connection: connection.router_pk, build=Router.from_model))
    def router(self, info: Info) -> Router | None: ...


@strawberry.type(description="Why your last connect or disconnect was refused (the manual's GetLastErrorDetails).")
class ConnectionFailure:
    result: str = strawberry.field(description="The refusal: a RouterConnectResult or RouterDisconnectResult value.")
    message: str = strawberry.field(description="What went wrong, readable.")
    router_common_name: str = strawberry.field(description="The router concerned; empty when none was found.")
    at: datetime = strawberry.field(description="When it happened.")

    @classmethod
    def from_model(cls, row: r.ConnectionFailure) -> ConnectionFailure:
        return cls(result=row.result, message=row.message, router_common_name=row.router_common_name, at=row.at)


@strawberry.type(description="How many connections an organisation may hold at once (the manual's active connections).")
class ConnectionLicence:
    max_active: int | None = strawberry.field(description="The limit; null when the organisation has none (unlimited).")
    active: int = strawberry.field(description="Its connections active now.")
    organisation_pk: strawberry.Private[int]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @strawberry.field(description="The licence holder.")
    @relation(
        Batched(
            identity_loaders.organisations, key=lambda licence: licence.organisation_pk, build=Organisation.from_model
        )
    )
    def organisation(self, info: Info) -> Organisation | None: ...


@strawberry.enum(description="What happened to a router.")
class RouterEventKind(enum.Enum):
    ONLINE = strawberry.enum_value("ONLINE", description="It sent a heartbeat after being offline.")
    OFFLINE = strawberry.enum_value("OFFLINE", description="The watchdog marked it offline after a silence.")
    CONNECTED = strawberry.enum_value("CONNECTED", description="A user connected through it.")
    DISCONNECTED = strawberry.enum_value("DISCONNECTED", description="A user's connection through it ended.")


@strawberry.type(description="A router went online or offline, or a user connected through it or disconnected.")
class RouterConnectionStateEvent:
    cursor: str = strawberry.field(
        description="The event's place in the stream: subscribe again with `after: cursor` to get what follows."
    )
    kind: RouterEventKind = strawberry.field(description="What happened.")
    at: datetime = strawberry.field(description="When it happened.")
    router: Router = strawberry.field(description="The router, as it is now.")
    location: Location | None = strawberry.field(
        description="The location concerned: the connection's, or the router's current one (null for a free router)."
    )
    connection_pk: strawberry.Private[int | None]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @strawberry.field(
        description="The connection (CONNECTED, DISCONNECTED events), when you may see it: your own, "
        "or one at a location you manage; null otherwise."
    )
    @relation(Batched(visible_connections, key=lambda event: event.connection_pk, build=RemoteConnection.from_model))
    def connection(self, info: Info) -> RemoteConnection | None: ...
