"""GraphQL type of locations (its access, device and connection fields delegate to those features)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Connection, Node, SortKey, paginate, to_global_id
from graph.tenancy import path_visible
from models import remote as r
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.remote.devices.loaders import devices_by_location
from resolvers.remote.local_network.loaders import networks_by_location
from resolvers.remote.local_network.types import LocationLocalNetwork
from resolvers.remote.locations.loaders import pinned_by_caller
from resolvers.remote.routers.loaders import routers

if TYPE_CHECKING:  # these features' types refer to Location: the fields below name them lazily
    from resolvers.identity.groups.types import UserGroup
    from resolvers.identity.users.types import User
    from resolvers.remote.access.types import EffectiveAccess
    from resolvers.remote.connections.types import RemoteConnection
    from resolvers.remote.devices.types import LocationDevice
    from resolvers.remote.groups.types import LocationGroup
    from resolvers.remote.routers.types import Router


@strawberry.type(description="A place of an organisation with at most one router; on the map when it has coordinates.")
class Location(Node):
    name: str = strawberry.field(description="Name (unique within its organisation).")
    latitude: float | None = strawberry.field(description="Latitude in degrees (WGS 84), or null.")
    longitude: float | None = strawberry.field(description="Longitude in degrees (WGS 84), or null.")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    router_pk: strawberry.Private[int | None]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: r.Location) -> Location:
        return cls(
            id=strawberry.ID(to_global_id("Location", row.id)),
            name=row.name,
            latitude=row.latitude,
            longitude=row.longitude,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
            router_pk=row.router_id,
        )

    @strawberry.field(
        description="The organisation it belongs to; null when not in your subtree (an external user's view)."
    )
    async def organisation(self, info: Info) -> Organisation | None:
        row = await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row) if row and path_visible(info.context.principal, row.path) else None

    @strawberry.field(description="Its router, or null when it has none.")
    @relation(
        Batched(routers, key=lambda location: location.router_pk, build=lambda row: _router_type().from_model(row))
    )
    def router(self, info: Info) -> Annotated[Router, strawberry.lazy("resolvers.remote.routers.types")] | None: ...

    @strawberry.field(
        description="Its local network settings and whether its router reports the same subnet (issue 18)."
    )
    @relation(Batched(networks_by_location, key=lambda location: location.pk, build=LocationLocalNetwork.from_row))
    def local_network(self, info: Info) -> LocationLocalNetwork: ...

    @strawberry.field(description="Whether you pinned it (each user pins their own).")
    @relation(Batched(pinned_by_caller, key=lambda location: location.pk))
    def pinned(self, info: Info) -> bool: ...

    @strawberry.field(description="The devices behind its router, by name, with their remote access services.")
    @relation(
        Batched(
            devices_by_location,
            key=lambda location: location.pk,
            build=lambda row: _location_device_type().from_model(row),
            many=True,
        )
    )
    def devices(
        self, info: Info
    ) -> list[Annotated[LocationDevice, strawberry.lazy("resolvers.remote.devices.types")]]: ...

    @strawberry.field(
        description=(
            "Users given it directly, by name (managers of its organisation; anybody else sees only themselves)."
        )
    )
    async def users(self, info: Info) -> list[Annotated[User, strawberry.lazy("resolvers.identity.users.types")]]:
        from resolvers.remote.access.types import location_users

        return await location_users(self, info)

    @strawberry.field(
        description="User groups given it, by name (managers of its organisation; empty for anybody else)."
    )
    async def user_groups(
        self, info: Info
    ) -> list[Annotated[UserGroup, strawberry.lazy("resolvers.identity.groups.types")]]:
        from resolvers.remote.access.types import location_user_groups

        return await location_user_groups(self, info)

    @strawberry.field(
        description="Location groups it is in, by name (anybody but its managers sees only the groups they are in)."
    )
    async def groups(
        self, info: Info
    ) -> list[Annotated[LocationGroup, strawberry.lazy("resolvers.remote.groups.types")]]:
        from resolvers.remote.access.types import location_groups_of

        return await location_groups_of(self, info)

    @strawberry.field(
        description=(
            "Who may reach it and why (given directly, through a user group, through a location group), by user name. "
            "Managers of its organisation see everybody; anybody else only their own entry. Managers themselves reach "
            "every location of their subtree without a grant and are not listed."
        )
    )
    async def effective_access(
        self, info: Info
    ) -> list[Annotated[EffectiveAccess, strawberry.lazy("resolvers.remote.access.types")]]:
        from resolvers.remote.access.types import location_effective_access

        return await location_effective_access(self, info)

    @strawberry.field(
        description=(
            "Connections made to it, newest first. Managers of the location see everybody's; anybody else "
            "only their own."
        )
    )
    async def connection_history(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size from the newest end (or after `after`).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="Continue with older connections after this cursor.")
        ] = None,
        last: Annotated[
            int | None, strawberry.argument(description="Page size from the oldest end (or before `before`).")
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="Continue with newer connections before this cursor.")
        ] = None,
    ) -> Connection[Annotated[RemoteConnection, strawberry.lazy("resolvers.remote.connections.types")]]:
        from resolvers.remote.connections.loaders import connection_visible
        from resolvers.remote.connections.types import RemoteConnection

        statement = select(r.RouterConnection).where(
            r.RouterConnection.location_id == self.pk, connection_visible(info.context.principal)
        )
        keys = [SortKey(r.RouterConnection.started_at, True), SortKey(r.RouterConnection.id, True)]
        return await paginate(
            info.context,
            statement,
            keys,
            RemoteConnection.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
        )


def _router_type() -> type[Router]:
    # imported when used: a router's type shows its location, so the two modules import each other
    from resolvers.remote.routers.types import Router

    return Router


def _location_device_type() -> type[LocationDevice]:
    # imported when used: a location device's type shows its location, so the two modules import each other
    from resolvers.remote.devices.types import LocationDevice

    return LocationDevice
