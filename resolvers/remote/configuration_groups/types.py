"""GraphQL type of configuration groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import remote as r
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation


@strawberry.type(
    description=(
        "Routers of one organisation that need the same configuration; a router is in at most one group "
        "(its routers: configurationGroupRouters)."
    )
)
class ConfigurationGroup(Node):
    name: str = strawberry.field(description="Name, unique within its organisation.")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: r.ConfigurationGroup) -> ConfigurationGroup:
        return cls(
            id=strawberry.ID(to_global_id("ConfigurationGroup", row.id)),
            name=row.name,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="The organisation it belongs to (its routers are that organisation's).")
    @relation(
        Batched(identity_loaders.organisations, key=lambda group: group.organisation_pk, build=Organisation.from_model)
    )
    def organisation(self, info: Info) -> Organisation | None: ...
