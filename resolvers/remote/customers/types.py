"""GraphQL type of a reseller's customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from models import portal as pt
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.remote.customers.loaders import (
    active_connections_by_organisation,
    licences_by_organisation,
    routers_by_organisation,
)


@strawberry.type(description="A customer of your organisation (manual §24): a sub-organisation with its own portal.")
class Customer:
    created_at: datetime = strawberry.field(description="When it was added.")
    organisation_pk: strawberry.Private[int]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: pt.Customer) -> Customer:
        return cls(created_at=row.created_at, organisation_pk=row.organisation_id)

    @strawberry.field(description="The customer's organisation; its ID names the customer in the customer mutations.")
    @relation(Batched(identity_loaders.organisations, key=lambda c: c.organisation_pk, build=Organisation.from_model))
    def organisation(self, info: Info) -> Organisation: ...

    @strawberry.field(description="The connection licences it holds (given by you), in use or not.")
    @relation(
        Batched(licences_by_organisation, key=lambda c: c.organisation_pk, build=lambda row: row.max_active_connections)
    )
    def licences(self, info: Info) -> int | None: ...

    @strawberry.field(description="Its connections active now: so many of its licences cannot be taken back.")
    @relation(Batched(active_connections_by_organisation, key=lambda c: c.organisation_pk))
    def active_connections(self, info: Info) -> int: ...

    @strawberry.field(description="How many routers it holds (given by you), at a location or not.")
    @relation(Batched(routers_by_organisation, key=lambda c: c.organisation_pk))
    def router_count(self, info: Info) -> int: ...
