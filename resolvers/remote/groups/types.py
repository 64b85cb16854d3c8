"""GraphQL type of location groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from graph.tenancy import path_visible
from models import remote as r
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.types import User
from resolvers.remote.groups.loaders import locations_by_group, users_by_group
from resolvers.remote.locations.types import Location
from resolvers.remote.scope import manages


@strawberry.type(description="A named set of locations of one organisation; its users may reach every location in it.")
class LocationGroup(Node):
    name: str = strawberry.field(description="Name (unique within its organisation).")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: r.LocationGroup) -> LocationGroup:
        return cls(
            id=strawberry.ID(to_global_id("LocationGroup", row.id)),
            name=row.name,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(
        description="The organisation it belongs to; null when not in your subtree (an external user's view)."
    )
    async def organisation(self, info: Info) -> Organisation | None:
        row = await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row) if row and path_visible(info.context.principal, row.path) else None

    @strawberry.field(description="Its locations, by name.")
    @relation(Batched(locations_by_group, key=lambda group: group.pk, build=Location.from_model, many=True))
    def locations(self, info: Info) -> list[Location]: ...

    @strawberry.field(description="Its users, by name (who is not a manager of its organisation sees only themselves).")
    async def users(self, info: Info) -> list[User]:
        rows = await info.context.loaders(users_by_group).load(self.pk)
        if not await manages(info, self.organisation_pk):
            rows = [(user, path) for user, path in rows if user.id == info.context.principal.user_id]
        return [User.seen_by(info.context.principal, user, path) for user, path in rows]
