"""Live router state: the routerConnectionState subscription over the ROUTER_STATE channel.

Each event is checked against the subscriber's current rights (token re-checked, router loaded
through the subscriber's own visibility) before it is sent, so a subscriber never learns of a router
it may not see, and loses events the moment its access is withdrawn.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from graph.auth import reauthenticate
from graph.errors import BadUserInput
from graph.permissions import needs, require_permission
from graph.relay import decode_id
from models.identity import Permission
from resolvers.remote import loaders
from resolvers.remote.types import Location, Router
from subscriptions import channels

if TYPE_CHECKING:  # connection_types imports types; the field below refers to it lazily
    from resolvers.remote.connection_types import RemoteConnection

MAX_FILTER_IDS = 500


@strawberry.enum(description="What happened to a router.")
class RouterEventKind(enum.Enum):
    ONLINE = strawberry.enum_value("ONLINE", description="It sent a heartbeat after being offline.")
    OFFLINE = strawberry.enum_value("OFFLINE", description="The watchdog marked it offline after a silence.")
    CONNECTED = strawberry.enum_value("CONNECTED", description="A user connected through it.")
    DISCONNECTED = strawberry.enum_value("DISCONNECTED", description="A user's connection through it ended.")


@strawberry.input(description="Which router events to stream; every field narrows, none means all you may see.")
class RouterConnectionStateFilter:
    router_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only these routers.")
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only routers at these locations (connections: made to these locations)."
    )
    kinds: list[RouterEventKind] | None = strawberry.field(default=None, description="Only these kinds of event.")


@strawberry.type(description="A router went online or offline, or a user connected through it or disconnected.")
class RouterConnectionStateEvent:
    kind: RouterEventKind = strawberry.field(description="What happened.")
    at: datetime = strawberry.field(description="When it happened.")
    router: Router = strawberry.field(description="The router, as it is now.")
    location: Location | None = strawberry.field(
        description="The location concerned: the connection's, or the router's current one (null for a free router)."
    )
    connection_pk: strawberry.Private[int | None]

    @strawberry.field(
        description="The connection (CONNECTED, DISCONNECTED events), when you may see it: your own, "
        "or one at a location you manage; null otherwise."
    )
    async def connection(
        self, info: Info
    ) -> Annotated[RemoteConnection, strawberry.lazy("resolvers.remote.connection_types")] | None:
        from resolvers.remote.connection_types import RemoteConnection, visible_connections

        if self.connection_pk is None:
            return None
        row = await info.context.loaders(visible_connections).load(self.connection_pk)
        return RemoteConnection.from_model(row) if row else None


def _ids(values: list[strawberry.ID] | None, type_name: str, argument: str) -> set[int] | None:
    if values is None:
        return None
    if len(values) > MAX_FILTER_IDS:
        raise BadUserInput(f"At most {MAX_FILTER_IDS} IDs.", argument=argument)
    pks = {decode_id(value, type_name) for value in values}
    if None in pks:
        raise BadUserInput(f"Not a {type_name} ID.", argument=argument)
    return pks


@strawberry.type
class RemoteSubscription:
    @strawberry.subscription(
        description=(
            "Routers going online or offline and users connecting through them or disconnecting, for the routers "
            "you may see; sent after the change is committed."
        ),
        permission_classes=[needs(Permission.ROUTERS_READ)],
    )
    async def router_connection_state(
        self,
        info: Info,
        filter: Annotated[
            RouterConnectionStateFilter | None, strawberry.argument(description="Narrow the stream.")
        ] = None,
    ) -> AsyncGenerator[RouterConnectionStateEvent, None]:
        context = info.context
        require_permission(context, Permission.ROUTERS_READ)
        router_pks = _ids(filter.router_ids if filter else None, "Router", "filter.routerIds")
        location_pks = _ids(filter.location_ids if filter else None, "Location", "filter.locationIds")
        kinds = {kind.value for kind in filter.kinds} if filter and filter.kinds is not None else None
        async for payload in context.runtime.bus.subscribe(channels.ROUTER_STATE):
            if kinds is not None and payload["kind"] not in kinds:
                continue
            router_pk = decode_id(payload["routerId"], "Router")
            if router_pk is None or (router_pks is not None and router_pk not in router_pks):
                continue
            # Logout, expiry, deactivation or a withdrawn permission end the subscription.
            await reauthenticate(context)
            require_permission(context, Permission.ROUTERS_READ)
            context.reset_loaders()
            router = (await loaders.visible_routers(context, [router_pk]))[0]
            if router is None:
                continue
            if payload.get("locationId"):
                location = (await loaders.visible_locations(context, [decode_id(payload["locationId"], "Location")]))[0]
            else:
                location = await context.loaders(loaders.locations_by_router).load(router_pk)
            if location_pks is not None and (location is None or location.id not in location_pks):
                continue
            yield RouterConnectionStateEvent(
                kind=RouterEventKind(payload["kind"]),
                at=datetime.fromisoformat(payload["at"]),
                router=Router.from_model(router),
                location=Location.from_model(location) if location is not None else None,
                connection_pk=decode_id(payload["connectionId"], "RouterConnection")
                if payload.get("connectionId")
                else None,
            )
