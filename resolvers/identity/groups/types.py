"""GraphQL type of user groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
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
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

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
    @relation(Batched(loaders.organisations, key=lambda group: group.organisation_pk, build=Organisation.from_model))
    def organisation(self, info: Info) -> Organisation: ...

    @strawberry.field(description="The members of the group.")
    @relation(Batched(members_by_group, key=lambda group: group.pk, build=User.from_model, many=True))
    def members(self, info: Info) -> list[User]: ...
