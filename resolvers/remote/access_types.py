"""GraphQL type of location groups: a named set of locations and the users given all of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import strawberry
from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement
from strawberry.types import Info

from graph.loaders import by_key
from graph.relay import Node, node_loader, to_global_id
from graph.tenancy import path_visible, visible_organisation_ids
from models import remote as r
from models.identity import Permission
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.types import Organisation
from resolvers.remote.scope import sees_whole_subtree


def location_group_visible(principal) -> ColumnElement[bool]:
    """Managers see the groups of their subtree; everybody else the groups they are in."""
    if principal.is_platform_admin:
        return r.LocationGroup.id.is_not(None)
    if sees_whole_subtree(principal):
        return r.LocationGroup.organisation_id.in_(visible_organisation_ids(principal))
    return r.LocationGroup.id.in_(
        select(r.LocationGroupUser.group_id).where(r.LocationGroupUser.user_id == principal.user_id)
    )


async def visible_location_groups(context, ids: Sequence[int]) -> list[r.LocationGroup | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.LocationGroup).where(r.LocationGroup.id.in_(ids), location_group_visible(context.principal))
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


@strawberry.type(description="A named set of locations of one organisation; its users may reach every location in it.")
class LocationGroup(Node):
    name: str = strawberry.field(description="Name (unique within its organisation).")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: r.LocationGroup) -> LocationGroup:
        return cls(id=strawberry.ID(to_global_id("LocationGroup", row.id)), name=row.name, created_at=row.created_at,
                   pk=row.id, organisation_pk=row.organisation_id)

    @strawberry.field(description="The organisation it belongs to; null when not in your subtree (an external user's view).")
    async def organisation(self, info: Info) -> Organisation | None:
        row = await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row) if row and path_visible(info.context.principal, row.path) else None


NODE_RESOLVERS = {
    "LocationGroup": (Permission.LOCATIONS_READ, node_loader(visible_location_groups, LocationGroup.from_model)),
}
