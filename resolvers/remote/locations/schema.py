"""Locations: the location list, create, update, delete, router placement, pins."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import exists, select
from strawberry.types import Info

from graph.filters import filter_text
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from models import remote as r
from models.identity import Permission
from resolvers.remote.errors import RemoteError
from resolvers.remote.locations.loaders import visible_locations
from resolvers.remote.locations.rules import (
    assign_router_to_location,
    create_location,
    delete_location,
    pin_location,
    update_location,
)
from resolvers.remote.locations.types import Location
from resolvers.remote.scope import MAX_TEXT, location_visible


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


@strawberry.input(description="A new location.")
class LocationCreateInput:
    name: str = strawberry.field(description="Name, unique within the organisation.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Organisation (yours or a descendant); default: your own."
    )
    router_id: strawberry.ID | None = strawberry.field(
        default=None, description="A free router of that organisation to place here."
    )
    latitude: float | None = strawberry.field(
        default=None, description="Latitude in degrees (-90..90); give both or neither."
    )
    longitude: float | None = strawberry.field(
        default=None, description="Longitude in degrees (-180..180); give both or neither."
    )


@strawberry.input(
    description="Change a location; fields left out stay as they are, null coordinates take it off the map."
)
class LocationUpdateInput:
    id: strawberry.ID = strawberry.field(description="The location.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    latitude: float | None = strawberry.field(
        default=strawberry.UNSET, description="New latitude, or null (with longitude null)."
    )
    longitude: float | None = strawberry.field(
        default=strawberry.UNSET, description="New longitude, or null (with latitude null)."
    )


@strawberry.input(description="A location to delete (its router becomes free).")
class LocationDeleteInput:
    id: strawberry.ID = strawberry.field(description="The location.")


@strawberry.type(description="The location, or why the change was refused.")
class LocationPayload:
    location: Location | None = strawberry.field(description="The location; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted location's ID, or why it was refused.")
class LocationDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted location; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="Place a router at a location, or take it away.")
class LocationAssignRouterInput:
    location_id: strawberry.ID = strawberry.field(description="The location.")
    router_id: strawberry.ID | None = strawberry.field(
        description=(
            "A free router of the location's organisation (replacing the one there, which becomes free); "
            "null takes the router away."
        )
    )


@strawberry.input(description="Pin or unpin a location for yourself.")
class LocationPinInput:
    location_id: strawberry.ID = strawberry.field(description="The location.")
    pinned: bool = strawberry.field(description="true pins it, false unpins it.")


def location_payload(location: r.Location) -> LocationPayload:
    return LocationPayload(location=Location.from_model(location), errors=[])


@strawberry.type
class LocationQuery:
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
            info.context,
            statement,
            keys,
            Location.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, Location),
        )


@strawberry.type
class LocationMutation:
    @strawberry.mutation(description="Create a location.", permission_classes=[needs(Permission.LOCATIONS_MANAGE)])
    async def location_create(self, info: Info, input: LocationCreateInput) -> LocationPayload:
        context = info.context
        return await mutate(
            context,
            LocationPayload,
            lambda s: create_location(
                s,
                context,
                name=input.name,
                organisation_id=input.organisation_id,
                router_id=input.router_id,
                latitude=input.latitude,
                longitude=input.longitude,
            ),
            location_payload,
        )

    @strawberry.mutation(
        description="Rename a location or move it on the map.", permission_classes=[needs(Permission.LOCATIONS_MANAGE)]
    )
    async def location_update(self, info: Info, input: LocationUpdateInput) -> LocationPayload:
        context = info.context
        return await mutate(
            context,
            LocationPayload,
            lambda s: update_location(
                s, context, input.id, name=input.name, latitude=input.latitude, longitude=input.longitude
            ),
            location_payload,
        )

    @strawberry.mutation(
        description="Delete a location; its router becomes free.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_delete(self, info: Info, input: LocationDeleteInput) -> LocationDeletePayload:
        context = info.context
        return await mutate(
            context,
            LocationDeletePayload,
            lambda s: delete_location(s, context, input.id),
            lambda _: LocationDeletePayload(deleted_id=input.id, errors=[]),
        )

    @strawberry.mutation(
        description="Place a free router of the location's organisation at the location, or take its router away.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_assign_router(self, info: Info, input: LocationAssignRouterInput) -> LocationPayload:
        context = info.context
        return await mutate(
            context,
            LocationPayload,
            lambda s: assign_router_to_location(s, context, input.location_id, input.router_id),
            location_payload,
        )

    @strawberry.mutation(
        description="Pin or unpin a location for yourself.", permission_classes=[needs(Permission.LOCATIONS_READ)]
    )
    async def location_pin(self, info: Info, input: LocationPinInput) -> LocationPayload:
        context = info.context
        return await mutate(
            context,
            LocationPayload,
            lambda s: pin_location(s, context, input.location_id, input.pinned),
            location_payload,
        )


NODE_RESOLVERS = {
    "Location": (Permission.LOCATIONS_READ, node_loader(visible_locations, Location.from_model)),
}
