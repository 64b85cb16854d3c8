"""Remote access queries: routers and locations within the caller's subtree, node lookup."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import exists, select
from strawberry.types import Info

from graph.filters import filter_text
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from models import remote as r
from models.identity import Permission
from resolvers.remote import access_types, loaders
from resolvers.remote import templates as device_templates
from resolvers.remote.scope import location_visible, router_visible
from resolvers.remote.services import MAX_TEXT
from resolvers.remote.types import Location, Router


@strawberry.input(description="Narrow the router list; all given conditions must hold.")
class RouterFilter:
    free: bool | None = strawberry.field(
        default=None,
        description="true: free routers (assigned to an organisation, at no location); false: routers at a location.",
    )
    online: bool | None = strawberry.field(default=None, description="Only online (true) or offline (false) routers.")
    assigned: bool | None = strawberry.field(
        default=None,
        description="Assigned to an organisation (true) or not yet (false; only platform admins see those).",
    )
    common_name_prefix: str | None = strawberry.field(
        default=None, description="Common name starts with this (any case)."
    )


@strawberry.input(description="Narrow the location list; all given conditions must hold.")
class LocationFilter:
    name_contains: str | None = strawberry.field(default=None, description="Name contains this text (any case).")
    pinned: bool | None = strawberry.field(
        default=None, description="Only locations you pinned (true) or did not (false)."
    )
    online: bool | None = strawberry.field(
        default=None,
        description="Only locations whose router is online (true), or offline or without a router (false).",
    )
    has_router: bool | None = strawberry.field(
        default=None, description="Only locations with (true) or without (false) a router."
    )
    has_coordinates: bool | None = strawberry.field(
        default=None, description="Only locations on the map (true) or not (false)."
    )


def _router_at_location():
    return exists().where(r.Location.router_id == r.Router.id)


def apply_router_filter(statement, flt: RouterFilter | None):
    if flt is None:
        return statement
    if flt.free is not None:
        statement = (
            statement.where(r.Router.organisation_id.is_not(None), ~_router_at_location())
            if flt.free
            else statement.where(_router_at_location())
        )
    if flt.online is not None:
        statement = statement.where(r.Router.online.is_(flt.online))
    if flt.assigned is not None:
        column = r.Router.organisation_id
        statement = statement.where(column.is_not(None) if flt.assigned else column.is_(None))
    if flt.common_name_prefix:
        prefix = filter_text(flt.common_name_prefix, "filter.commonNamePrefix", MAX_TEXT).upper()
        statement = statement.where(r.Router.common_name.startswith(prefix, autoescape=True))
    return statement


def apply_location_filter(statement, flt: LocationFilter | None, user_id: int):
    if flt is None:
        return statement
    if flt.name_contains:
        text = filter_text(flt.name_contains, "filter.nameContains", MAX_TEXT)
        statement = statement.where(r.Location.name.icontains(text, autoescape=True))
    if flt.pinned is not None:
        pinned = exists().where(r.LocationPin.location_id == r.Location.id, r.LocationPin.user_id == user_id)
        statement = statement.where(pinned if flt.pinned else ~pinned)
    if flt.online is not None:
        online = r.Location.router_id.in_(select(r.Router.id).where(r.Router.online.is_(True)))
        statement = statement.where(online if flt.online else ~online | r.Location.router_id.is_(None))
    if flt.has_router is not None:
        statement = statement.where(
            r.Location.router_id.is_not(None) if flt.has_router else r.Location.router_id.is_(None)
        )
    if flt.has_coordinates is not None:
        statement = statement.where(
            r.Location.latitude.is_not(None) if flt.has_coordinates else r.Location.latitude.is_(None)
        )
    return statement


@strawberry.type
class RemoteQuery:
    @strawberry.field(
        description=(
            "Routers assigned within your organisation's subtree (platform admins: all, also unassigned ones), "
            "by common name. `filter: {free: true}` lists the free routers (assigned, at no location)."
        ),
        permission_classes=[needs(Permission.ROUTERS_READ)],
    )
    async def routers(
        self,
        info: Info,
        filter: Annotated[
            RouterFilter | None, strawberry.argument(description="Conditions the routers must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Router]:
        statement = apply_router_filter(select(r.Router).where(router_visible(info.context.principal)), filter)
        keys = [SortKey(r.Router.common_name), SortKey(r.Router.id)]
        return await paginate(
            info.context, statement, keys, Router.from_model, first=first, after=after, last=last, before=before
        )

    @strawberry.field(
        description=(
            "Locations of your organisation's subtree, by name. For the dashboard and the map ask for "
            "`name latitude longitude pinned router { online stateChangedAt latestStatus { ... } }`: "
            "a fixed number of statements for any page size."
        ),
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def locations(
        self,
        info: Info,
        filter: Annotated[
            LocationFilter | None, strawberry.argument(description="Conditions the locations must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Location]:
        principal = info.context.principal
        statement = apply_location_filter(
            select(r.Location).where(location_visible(principal)), filter, principal.user_id
        )
        keys = [SortKey(r.Location.name), SortKey(r.Location.id)]
        return await paginate(
            info.context, statement, keys, Location.from_model, first=first, after=after, last=last, before=before
        )


NODE_RESOLVERS = {
    "Router": (Permission.ROUTERS_READ, node_loader(loaders.visible_routers, Router.from_model)),
    "Location": (Permission.LOCATIONS_READ, node_loader(loaders.visible_locations, Location.from_model)),
    **device_templates.NODE_RESOLVERS,  # DeviceTemplate, LocationDevice
    **access_types.NODE_RESOLVERS,  # LocationGroup
}
