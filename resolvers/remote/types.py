"""GraphQL types of remote access: routers, their status, locations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.relay import Connection, Node, SortKey, paginate, to_global_id
from graph.tenancy import path_visible
from models import remote as r
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.remote import loaders

if TYPE_CHECKING:  # devices_types imports this module; the field below refers to it lazily
    from resolvers.identity.groups.types import UserGroup
    from resolvers.identity.users.types import User
    from resolvers.remote.access_types import EffectiveAccess, LocationGroup
    from resolvers.remote.connection_types import RemoteConnection
    from resolvers.remote.devices_types import LocationDevice


@strawberry.type(description="One status report of a router, sent with its heartbeat.")
class RouterStatus:
    taken_at: datetime = strawberry.field(description="When the server received it.")
    cpu_load: float | None = strawberry.field(description="CPU load in percent (0-100), or null when not reported.")
    memory_use: float | None = strawberry.field(description="Memory in use in percent (0-100), or null.")
    modem_state: str = strawberry.field(
        description="The modem's state as the router reports it (e.g. CONNECTED); empty when not reported."
    )
    signal_strength: float | None = strawberry.field(description="Mobile signal strength in dBm (negative), or null.")
    link_speed: float | None = strawberry.field(description="Link speed in Mbit/s, or null.")

    @classmethod
    def from_model(cls, row: r.RouterStatusSample) -> RouterStatus:
        return cls(
            taken_at=row.taken_at,
            cpu_load=row.cpu_load,
            memory_use=row.memory_use,
            modem_state=row.modem_state,
            signal_strength=row.signal_strength,
            link_speed=row.link_speed,
        )


@strawberry.type(
    description="A remote access router: registered by the platform, assigned to an organisation, placed at a location."
)
class Router(Node):
    common_name: str = strawberry.field(
        description="Unique name of the router's key (certificate), e.g. R_M26118014A81B88FB; may change with a factory reset."
    )
    mac_address: str = strawberry.field(description="MAC address as AA:BB:CC:DD:EE:FF (printed on the router).")
    serial_number: str = strawberry.field(description="Serial number (printed on the router).")
    model: str = strawberry.field(description="Router model; may be empty.")
    firmware: str = strawberry.field(description="Firmware version; may be empty.")
    online: bool = strawberry.field(
        description="Whether the router is online: set by its heartbeat, cleared by the watchdog after a silence."
    )
    last_heartbeat_at: datetime | None = strawberry.field(
        description="When its last heartbeat arrived, or null if never."
    )
    state_changed_at: datetime = strawberry.field(
        description="When `online` last changed (or the router was registered)."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: r.Router) -> Router:
        return cls(
            id=strawberry.ID(to_global_id("Router", row.id)),
            common_name=row.common_name,
            mac_address=row.mac_address,
            serial_number=row.serial_number,
            model=row.model,
            firmware=row.firmware,
            online=row.online,
            last_heartbeat_at=row.last_heartbeat_at,
            state_changed_at=row.state_changed_at,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(
        description="The organisation it is assigned to; null while unassigned (or when not in your subtree)."
    )
    async def organisation(self, info: Info) -> Organisation | None:
        if self.organisation_pk is None:
            return None
        row = await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row) if row and path_visible(info.context.principal, row.path) else None

    @strawberry.field(description="The location it is at; null for a free router.")
    async def location(self, info: Info) -> Location | None:
        row = await info.context.loaders(loaders.locations_by_router).load(self.pk)
        return Location.from_model(row) if row else None

    @strawberry.field(description="Its newest status report, or null if it never sent one.")
    async def latest_status(self, info: Info) -> RouterStatus | None:
        row = await info.context.loaders(loaders.latest_status).load(self.pk)
        return RouterStatus.from_model(row) if row else None

    @strawberry.field(
        description=(
            "Its status history, newest first: `first`/`after` pages back in time, `last`/`before` forward. "
            "One statement per router: ask for it on a single router, not on a long list."
        )
    )
    async def status_samples(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size from the newest end (or after `after`).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="Continue with older samples after this cursor.")
        ] = None,
        last: Annotated[
            int | None, strawberry.argument(description="Page size from the oldest end (or before `before`).")
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="Continue with newer samples before this cursor.")
        ] = None,
    ) -> Connection[RouterStatus]:
        statement = select(r.RouterStatusSample).where(r.RouterStatusSample.router_id == self.pk)
        keys = [SortKey(r.RouterStatusSample.taken_at, True), SortKey(r.RouterStatusSample.id, True)]
        return await paginate(
            info.context, statement, keys, RouterStatus.from_model, first=first, after=after, last=last, before=before
        )


@strawberry.type(description="A place of an organisation with at most one router; on the map when it has coordinates.")
class Location(Node):
    name: str = strawberry.field(description="Name (unique within its organisation).")
    latitude: float | None = strawberry.field(description="Latitude in degrees (WGS 84), or null.")
    longitude: float | None = strawberry.field(description="Longitude in degrees (WGS 84), or null.")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    router_pk: strawberry.Private[int | None]

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
    async def router(self, info: Info) -> Router | None:
        if self.router_pk is None:
            return None
        row = await info.context.loaders(loaders.routers).load(self.router_pk)
        return Router.from_model(row) if row else None

    @strawberry.field(description="Whether you pinned it (each user pins their own).")
    async def pinned(self, info: Info) -> bool:
        return await info.context.loaders(loaders.pinned_by_caller).load(self.pk)

    @strawberry.field(description="The devices behind its router, by name, with their remote access services.")
    async def devices(
        self, info: Info
    ) -> list[Annotated[LocationDevice, strawberry.lazy("resolvers.remote.devices_types")]]:
        from resolvers.remote.devices_types import LocationDevice, devices_by_location

        rows = await info.context.loaders(devices_by_location).load(self.pk)
        return [LocationDevice.from_model(row) for row in rows]

    @strawberry.field(
        description="Users given it directly, by name (managers of its organisation; anybody else sees only themselves)."
    )
    async def users(self, info: Info) -> list[Annotated[User, strawberry.lazy("resolvers.identity.users.types")]]:
        from resolvers.remote.access_types import location_users

        return await location_users(self, info)

    @strawberry.field(
        description="User groups given it, by name (managers of its organisation; empty for anybody else)."
    )
    async def user_groups(
        self, info: Info
    ) -> list[Annotated[UserGroup, strawberry.lazy("resolvers.identity.groups.types")]]:
        from resolvers.remote.access_types import location_user_groups

        return await location_user_groups(self, info)

    @strawberry.field(
        description="Location groups it is in, by name (anybody but its managers sees only the groups they are in)."
    )
    async def groups(
        self, info: Info
    ) -> list[Annotated[LocationGroup, strawberry.lazy("resolvers.remote.access_types")]]:
        from resolvers.remote.access_types import location_groups_of

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
    ) -> list[Annotated[EffectiveAccess, strawberry.lazy("resolvers.remote.access_types")]]:
        from resolvers.remote.access_types import location_effective_access

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
    ) -> Connection[Annotated[RemoteConnection, strawberry.lazy("resolvers.remote.connection_types")]]:
        from resolvers.remote.connection_types import RemoteConnection, connection_visible

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
