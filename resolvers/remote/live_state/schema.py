"""The live router state stream: routers going online or offline, users connecting through them."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Container
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.auth import reauthenticate
from graph.context import Context, Principal
from graph.errors import BadUserInput
from graph.loaders import SharedLoaders
from graph.permissions import needs, require_permission
from graph.relay import decode_id
from graph.tenancy import path_visible
from models import remote as r
from models.identity import Permission
from resolvers.remote.access.loaders import reachable_by_user
from resolvers.remote.connections.types import RouterConnectionStateEvent, RouterEventKind
from resolvers.remote.locations.loaders import locations_with_paths, router_locations_with_paths
from resolvers.remote.locations.types import Location
from resolvers.remote.routers.loaders import routers_with_paths
from resolvers.remote.routers.types import Router
from resolvers.remote.scope import sees, sees_whole_subtree
from subscriptions import channels
from subscriptions.delivery import sent
from subscriptions.log import LoggedEvent
from subscriptions.stream import AFTER_DESCRIPTION, parse_cursor

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
