"""Connections: connect, disconnect, licences, the connection lists, and the live router state stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Container
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.auth import reauthenticate
from graph.context import Context, Principal
from graph.errors import BadUserInput, Forbidden
from graph.loaders import SharedLoaders
from graph.mutations import mutate
from graph.permissions import needs, require_permission
from graph.relay import (
    Connection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
)
from graph.tenancy import organisation_visible, path_visible
from models import remote as r
from models.identity import Organisation, Permission
from resolvers.remote.access.loaders import reachable_by_user
from resolvers.remote.connections.loaders import connection_visible, visible_connections
from resolvers.remote.connections.rules import (
    ConnectResult,
    DisconnectResult,
    active_connection_of,
    active_count,
    connect,
    disconnect,
    set_licence,
)
from resolvers.remote.connections.types import (
    ConnectionFailure,
    ConnectionLicence,
    RemoteConnection,
    RouterConnectionStateEvent,
    RouterEventKind,
)
from resolvers.remote.errors import RemoteError
from resolvers.remote.locations.loaders import locations_with_paths, router_locations_with_paths
from resolvers.remote.locations.types import Location
from resolvers.remote.routers.loaders import routers_with_paths
from resolvers.remote.routers.types import Router
from resolvers.remote.scope import sees, sees_whole_subtree
from subscriptions import channels
from subscriptions.delivery import sent
from subscriptions.log import LoggedEvent
from subscriptions.stream import AFTER_DESCRIPTION, parse_cursor

RouterConnectResult = strawberry.enum(
    ConnectResult,
    name="RouterConnectResult",
    description=(
        "The answer to a connect (the manual's ConnectResult). Everything but CONNECTED and ALREADY_CONNECTED is a "
        "refusal, kept for lastErrorDetails."
    ),
)


RouterDisconnectResult = strawberry.enum(
    DisconnectResult, name="RouterDisconnectResult", description="The answer to a disconnect."
)


@strawberry.input(description="Connect through a router: give its common name or its location (exactly one).")
class RouterConnectInput:
    common_name: str | None = strawberry.field(
        default=None, description="The router's common name, e.g. R_M26118014A81B88FB."
    )
    location_id: strawberry.ID | None = strawberry.field(
        default=None, description="The location whose router to connect through."
    )
    device_id: strawberry.ID | None = strawberry.field(
        default=None, description="A device of that location to reach (optional)."
    )


@strawberry.input(description="End a connection.")
class RouterDisconnectInput:
    connection_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "The connection to end; default your active one. Managers may end one at a location of their subtree."
        ),
    )


@strawberry.input(description="Set an organisation's licence of active connections.")
class ConnectionLicenceSetInput:
    organisation_id: strawberry.ID = strawberry.field(description="The organisation.")
    max_active_connections: int | None = strawberry.field(
        description="At most this many at once (0-100000); null: no limit."
    )


@strawberry.type(description="The answer to a connect.")
class RouterConnectPayload:
    # mypy takes strawberry.enum(...) for a value, not a type (as with the other model enums)
    result: RouterConnectResult | None = strawberry.field(  # type: ignore[valid-type]
        description="The answer; null when the input was refused (see errors)."
    )
    connection: RemoteConnection | None = strawberry.field(description="The connection (CONNECTED, ALREADY_CONNECTED).")
    errors: list[RemoteError] = strawberry.field(description="Problems with the input (nothing changed).")


@strawberry.type(description="The answer to a disconnect.")
class RouterDisconnectPayload:
    # mypy takes strawberry.enum(...) for a value, not a type (as with the other model enums)
    result: RouterDisconnectResult | None = strawberry.field(  # type: ignore[valid-type]
        description="The answer; null when the input was refused."
    )
    connection: RemoteConnection | None = strawberry.field(description="The connection concerned, if any.")
    errors: list[RemoteError] = strawberry.field(description="Problems with the input (nothing changed).")


@strawberry.type(description="The licence, or why it was not set.")
class ConnectionLicencePayload:
    licence: ConnectionLicence | None = strawberry.field(description="The licence now; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


def _connection(row) -> RemoteConnection | None:
    return RemoteConnection.from_model(row) if row is not None else None


@strawberry.type
class ConnectionMutation:
    @strawberry.mutation(
        description="Connect through a location's router.", permission_classes=[needs(Permission.ROUTERS_CONNECT)]
    )
    async def router_connect(self, info: Info, input: RouterConnectInput) -> RouterConnectPayload:
        return await mutate(
            info.context,
            RouterConnectPayload,
            lambda s: connect(
                s, info.context, common_name=input.common_name, location_id=input.location_id, device_id=input.device_id
            ),
            lambda result: RouterConnectPayload(result=result[0], connection=_connection(result[1]), errors=[]),
        )

    @strawberry.mutation(
        description="End your active connection (or, for managers, one of their subtree).",
        permission_classes=[needs(Permission.ROUTERS_CONNECT)],
    )
    async def router_disconnect(
        self, info: Info, input: RouterDisconnectInput | None = None
    ) -> RouterDisconnectPayload:
        connection_id = input.connection_id if input is not None else None
        return await mutate(
            info.context,
            RouterDisconnectPayload,
            lambda s: disconnect(s, info.context, connection_id),
            lambda result: RouterDisconnectPayload(result=result[0], connection=_connection(result[1]), errors=[]),
        )

    @strawberry.mutation(
        description="Set how many connections an organisation may hold at once (platform admins).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def connection_licence_set(self, info: Info, input: ConnectionLicenceSetInput) -> ConnectionLicencePayload:
        if not info.context.principal.is_platform_admin:
            raise Forbidden("Only platform admins set connection licences.")
        return await mutate(
            info.context,
            ConnectionLicencePayload,
            lambda s: set_licence(s, info.context, input.organisation_id, input.max_active_connections),
            lambda result: ConnectionLicencePayload(licence=result, errors=[]),
        )


@strawberry.type
class ConnectionQuery:
    @strawberry.field(
        description="Your active connection, or null (the manual's GetConnectionStatus).",
        permission_classes=[needs(Permission.ROUTERS_CONNECT)],
    )
    async def connection_status(self, info: Info) -> RemoteConnection | None:
        async with info.context.session() as session:
            return _connection(await active_connection_of(session, info.context.principal.user_id))

    @strawberry.field(
        description="Why your last connect or disconnect was refused, or null (GetLastErrorDetails).",
        permission_classes=[needs(Permission.ROUTERS_CONNECT)],
    )
    async def last_error_details(self, info: Info) -> ConnectionFailure | None:
        async with info.context.session() as session:
            row = await session.get(r.ConnectionFailure, info.context.principal.user_id)
        return ConnectionFailure.from_model(row) if row else None

    @strawberry.field(
        description="Active connections at the locations of your subtree, newest first.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def active_connections(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[RemoteConnection]:
        statement = select(r.RouterConnection).where(
            r.RouterConnection.ended_at.is_(None), connection_visible(info.context.principal)
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

    @strawberry.field(
        description="An organisation's licence of active connections and how many are in use; default "
        "yours; null for an organisation you do not see.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def connection_licence(
        self,
        info: Info,
        organisation_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The organisation (default yours).")
        ] = None,
    ) -> ConnectionLicence | None:
        principal = info.context.principal
        pk = principal.organisation_id
        if organisation_id is not None:
            pk = decode_id(organisation_id, "Organisation")
            if pk is None:
                raise BadUserInput("Not an Organisation ID.", argument="organisationId")
        async with info.context.session() as session:
            if (
                await session.scalar(
                    select(Organisation.id).where(Organisation.id == pk, organisation_visible(principal))
                )
                is None
            ):
                return None
            limit = await session.scalar(
                select(r.ConnectionLicence.max_active_connections).where(r.ConnectionLicence.organisation_id == pk)
            )
            return ConnectionLicence(max_active=limit, active=await active_count(session, pk), organisation_pk=pk)


NODE_RESOLVERS = {
    "RemoteConnection": (Permission.ROUTERS_CONNECT, node_loader(visible_connections, RemoteConnection.from_model)),
}


MAX_FILTER_IDS = 500


@strawberry.input(description="Which router events to stream; every field narrows, none means all you may see.")
class RouterConnectionStateFilter:
    router_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only these routers.")
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only routers at these locations (connections: made to these locations)."
    )
    kinds: list[RouterEventKind] | None = strawberry.field(default=None, description="Only these kinds of event.")


def _ids(values: list[strawberry.ID] | None, type_name: str, argument: str) -> set[int] | None:
    if values is None:
        return None
    if len(values) > MAX_FILTER_IDS:
        raise BadUserInput(f"At most {MAX_FILTER_IDS} IDs.", argument=argument)
    pks: set[int] = set()
    for value in values:
        pk = decode_id(value, type_name)
        if pk is None:
            raise BadUserInput(f"Not a {type_name} ID.", argument=argument)
        pks.add(pk)
    return pks


@dataclass(frozen=True)
class _EventRows:
    """A router event's rows, loaded once per event for all its subscribers (no principal involved)."""

    router: r.Router
    router_path: str
    #: The router's location with its organisation's path, if it is at one.
    here: tuple[r.Location, str] | None
    #: The location the event names (a connection's), if any.
    named: tuple[r.Location, str] | None


async def _event_rows(shared: SharedLoaders, payload: dict) -> _EventRows | None:
    router_pk = decode_id(payload["routerId"], "Router")
    found = await shared(routers_with_paths).load(router_pk) if router_pk is not None else None
    if found is None:
        return None
    here = await shared(router_locations_with_paths).load(router_pk)
    location_pk = decode_id(payload["locationId"], "Location") if payload.get("locationId") else None
    named = await shared(locations_with_paths).load(location_pk) if location_pk is not None else None
    return _EventRows(found[0], found[1], (here[0], here[1]) if here else None, named)


def _could_see(context: Context, kinds: Container[object] | None, event: LoggedEvent) -> bool:
    """At dispatch, without waking the subscription: False only when the subscriber's checked rights rule the
    event out (its organisation's path is the one the event names: where the router was when it happened)."""
    payload = event.payload
    if kinds is not None and payload["kind"] not in kinds:
        return False
    principal = context.principal
    if principal is None or not event.shared.rights_checked(context) or principal.is_platform_admin:
        return True
    if sees_whole_subtree(principal) and path_visible(principal, payload["organisationPath"]):
        return True
    reachable = event.shared.known_rights(context, reachable_by_user, principal.user_id)
    return reachable is None or bool(reachable)  # granted locations: which ones, the subscription checks


def _location_seen(rows: _EventRows, principal: Principal, reachable: frozenset[int]) -> r.Location | None:
    """For a subscriber who sees the event's router: the named location if it may see that (else none), and
    without a named one, the router's own location (visible with it)."""
    if rows.named is None:
        return rows.here[0] if rows.here else None
    location, path = rows.named
    return location if sees(principal, path, location.id, reachable) else None


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
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
    ) -> AsyncGenerator[RouterConnectionStateEvent, None]:
        context = info.context
        require_permission(context, Permission.ROUTERS_READ)
        router_pks = _ids(filter.router_ids if filter else None, "Router", "filter.routerIds")
        location_pks = _ids(filter.location_ids if filter else None, "Location", "filter.locationIds")
        kinds = {kind.value for kind in filter.kinds} if filter and filter.kinds is not None else None
        async for event in context.runtime.events.subscribe(
            channels.ROUTER_STATE,
            parse_cursor(after),
            context.subscription_owner(Permission.ROUTERS_READ),
            partial(_could_see, context, kinds),
        ):
            payload = event.payload
            if kinds is not None and payload["kind"] not in kinds:
                continue
            # Loaded once per event for all subscribers (as are the tokens and grants below, when rights changed).
            rows = await event.shared.once("router-state-rows", partial(_event_rows, event.shared, payload))
            if rows is None or (router_pks is not None and rows.router.id not in router_pks):
                continue
            # Logout, expiry, deactivation or a withdrawn permission end the subscription.
            await reauthenticate(context, event.shared)
            principal = require_permission(context, Permission.ROUTERS_READ)
            reachable: frozenset[int] = frozenset()
            if not principal.is_platform_admin:
                reachable = await event.shared.rights(context, reachable_by_user, principal.user_id)
            if not sees(principal, rows.router_path, rows.here[0].id if rows.here else None, reachable):
                continue
            location = _location_seen(rows, principal, reachable)
            if location_pks is not None and (location is None or location.id not in location_pks):
                continue
            # One object per way of seeing the event (with or without its location), shared by its subscribers.
            key = ("router-state", location.id if location else None)
            result = event.shared.value(key, _state_event, event, rows.router, location)
            context.reset_loaders()  # for fields with resolvers: this event's rows, not an earlier one's
            if not await sent(event, result, context):
                yield result


def _state_event(event: LoggedEvent, router: r.Router, location: r.Location | None) -> RouterConnectionStateEvent:
    payload = event.payload
    return RouterConnectionStateEvent(
        cursor=str(event.cursor),
        kind=RouterEventKind(payload["kind"]),
        at=datetime.fromisoformat(payload["at"]),
        router=Router.from_model(router),
        location=Location.from_model(location) if location is not None else None,
        connection_pk=decode_id(payload["connectionId"], "RemoteConnection") if payload.get("connectionId") else None,
    )
