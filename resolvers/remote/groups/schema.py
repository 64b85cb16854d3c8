"""Location groups: list, create, update, delete."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.filters import filter_text
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
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
from models import remote as r
from models.identity import Permission
from resolvers.remote.errors import RemoteError
from resolvers.remote.groups.loaders import visible_location_groups
from resolvers.remote.groups.rules import create_group, delete_group, update_group
from resolvers.remote.groups.types import LocationGroup
from resolvers.remote.scope import MAX_TEXT, location_group_visible


@strawberry.input(description="A new location group.")
class LocationGroupCreateInput:
    name: str = strawberry.field(description="Name, unique within the organisation (at most 200 characters).")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its organisation (of your subtree); default yours."
    )
    location_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Its locations (of its organisation)."
    )
    user_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Its users (of its organisation's subtree, or its external users)."
    )


@strawberry.input(description="Change a location group; fields left out stay, given lists replace the old ones.")
class LocationGroupUpdateInput:
    id: strawberry.ID = strawberry.field(description="The group.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Its new locations (null: none)."
    )
    user_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Its new users (null: none)."
    )


@strawberry.input(description="A location group to delete.")
class LocationGroupDeleteInput:
    id: strawberry.ID = strawberry.field(description="The group.")


@strawberry.type(description="The location group, or why the change was refused.")
class LocationGroupPayload:
    location_group: LocationGroup | None = strawberry.field(description="The group; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted group's ID, or why it was refused.")
class LocationGroupDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted group; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


def group_payload(result) -> LocationGroupPayload:
    return LocationGroupPayload(location_group=LocationGroup.from_model(result), errors=[])


@strawberry.type
class LocationGroupMutation:
    @strawberry.mutation(
        description="Create a location group.", permission_classes=[needs(Permission.LOCATIONS_MANAGE)]
    )
    async def location_group_create(self, info: Info, input: LocationGroupCreateInput) -> LocationGroupPayload:
        return await mutate(
            info.context,
            LocationGroupPayload,
            lambda s: create_group(
                s,
                info.context,
                name=input.name,
                organisation_id=input.organisation_id,
                location_ids=input.location_ids,
                user_ids=input.user_ids,
            ),
            group_payload,
        )

    @strawberry.mutation(
        description="Change a location group; users who lose a location have their connection to it ended.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_group_update(self, info: Info, input: LocationGroupUpdateInput) -> LocationGroupPayload:
        return await mutate(
            info.context,
            LocationGroupPayload,
            lambda s: update_group(
                s,
                info.context,
                input.id,
                name=input.name,
                location_ids=input.location_ids,
                user_ids=input.user_ids,
            ),
            group_payload,
        )

    @strawberry.mutation(
        description="Delete a location group; its users who lose a location have their connection to it ended.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_group_delete(self, info: Info, input: LocationGroupDeleteInput) -> LocationGroupDeletePayload:
        return await mutate(
            info.context,
            LocationGroupDeletePayload,
            lambda s: delete_group(s, info.context, input.id),
            lambda result: LocationGroupDeletePayload(deleted_id=input.id, errors=[]),
        )


@strawberry.input(description="Narrow the location group list; all given conditions must hold.")
class LocationGroupFilter:
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only groups of this organisation."
    )
    name_contains: str | None = strawberry.field(default=None, description="Name contains this text (any case).")


@strawberry.type
class LocationGroupQuery:
    @strawberry.field(
        description=(
            "Location groups by name: managers see those of their subtree, anybody else the groups they are in. "
            "`nodes { name locations { name } users { name } }` runs in a fixed number of statements."
        ),
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def location_groups(
        self,
        info: Info,
        filter: Annotated[
            LocationGroupFilter | None, strawberry.argument(description="Conditions the groups must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[LocationGroup]:
        statement = select(r.LocationGroup).where(location_group_visible(info.context.principal))
        if filter is not None and filter.organisation_id is not None:
            pk = decode_id(filter.organisation_id, "Organisation")
            if pk is None:
                raise BadUserInput("Not an organisation ID.", argument="filter.organisationId")
            statement = statement.where(r.LocationGroup.organisation_id == pk)
        if filter is not None and filter.name_contains:
            text = filter_text(filter.name_contains, "filter.nameContains", MAX_TEXT)
            statement = statement.where(r.LocationGroup.name.icontains(text, autoescape=True))
        keys = [SortKey(r.LocationGroup.name), SortKey(r.LocationGroup.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            LocationGroup.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, LocationGroup),
        )


NODE_RESOLVERS = {
    "LocationGroup": (Permission.LOCATIONS_READ, node_loader(visible_location_groups, LocationGroup.from_model)),
}
