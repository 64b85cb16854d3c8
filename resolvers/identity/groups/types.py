"""GraphQL type of user groups."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from graph.relay import Node, to_global_id
from models import identity as m
from resolvers.identity import loaders
from resolvers.identity.groups.loaders import members_by_group
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.types import User


@strawberry.type(description="A named set of users of one organisation, used to grant access together.")
class UserGroup(Node):
    name: str = strawberry.field(description="Name, unique within the organisation.")
    created_at: datetime = strawberry.field(description="When the group was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: m.UserGroup) -> UserGroup:
        return cls(
            id=strawberry.ID(to_global_id("UserGroup", row.id)),
            name=row.name,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="The organisation the group belongs to.")
    async def organisation(self, info: Info) -> Organisation:
        row = await info.context.loaders(loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row)

    @strawberry.field(description="The members of the group.")
    async def members(self, info: Info) -> list[User]:
        rows = await info.context.loaders(members_by_group).load(self.pk)
        return [User.from_model(row) for row in rows]
