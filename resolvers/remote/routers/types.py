"""GraphQL types of routers and their status reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Connection, Node, SortKey, paginate, to_global_id
from graph.tenancy import path_visible
from models import remote as r
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.remote.configuration_groups.loaders import visible_configuration_groups
from resolvers.remote.configuration_groups.types import ConfigurationGroup
from resolvers.remote.locations.loaders import locations_by_router
from resolvers.remote.locations.types import Location
from resolvers.remote.routers.loaders import latest_status


@strawberry.type(description="A fault a router reported.")
class RouterFault:
    code: str = strawberry.field(description="The fault's code.")
    message: str = strawberry.field(description="What it means; may be empty.")


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
    lan_subnet: str | None = strawberry.field(
        description="The LAN behind the router as it reported it (CIDR), or null when not reported."
    )
    fault: RouterFault | None = strawberry.field(description="The fault it reported, or null when none.")
    standstill: bool | None = strawberry.field(
        description="Whether the machine behind it stood still, or null when not reported."
    )

    @classmethod
    def from_model(cls, row: r.RouterStatusSample) -> RouterStatus:
        return cls(
            taken_at=row.taken_at,
            cpu_load=row.cpu_load,
            memory_use=row.memory_use,
            modem_state=row.modem_state,
            signal_strength=row.signal_strength,
            link_speed=row.link_speed,
            lan_subnet=row.lan_subnet,
            fault=RouterFault(code=row.fault_code, message=row.fault_message) if row.fault_code else None,
            standstill=row.standstill,
        )


@strawberry.type(
    description="A remote access router: registered by the platform, assigned to an organisation, placed at a location."
)
class Router(Node):
    common_name: str = strawberry.field(
        description=(
            "Unique name of the router's key (certificate), e.g. R_M26118014A81B88FB; may change with a factory reset."
        )
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
    configuration_group_pk: strawberry.Private[int | None] = None
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

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
            configuration_group_pk=row.configuration_group_id,
        )

    @strawberry.field(
        description="The organisation it is assigned to; null while unassigned (or when not in your subtree)."
    )
    async def organisation(self, info: Info) -> Organisation | None:
        if self.organisation_pk is None:
            return None
        row = await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row) if row and path_visible(info.context.principal, row.path) else None

    @strawberry.field(
        description="The configuration group it is in (at most one); null when none or you do not manage groups."
    )
    @relation(
        Batched(
            visible_configuration_groups,
            key=lambda router: router.configuration_group_pk,
            build=ConfigurationGroup.from_model,
        )
    )
    def configuration_group(self, info: Info) -> ConfigurationGroup | None: ...

    @strawberry.field(description="The location it is at; null for a free router.")
    @relation(Batched(locations_by_router, key=lambda router: router.pk, build=Location.from_model))
    def location(self, info: Info) -> Location | None: ...

    @strawberry.field(description="Its newest status report, or null if it never sent one.")
    @relation(Batched(latest_status, key=lambda router: router.pk, build=RouterStatus.from_model))
    def latest_status(self, info: Info) -> RouterStatus | None: ...

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
