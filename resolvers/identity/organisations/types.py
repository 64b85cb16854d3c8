"""GraphQL types of organisations and their partners."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import identity as m
from resolvers.identity import loaders
from resolvers.identity.branding.loaders import themes
from resolvers.identity.branding.types import Theme
from resolvers.identity.organisations.loaders import partners_by_organisation


@strawberry.type(description="The password rules of an organisation (on top of the platform's fixed rules).")
class PasswordPolicy:
    min_length: int = strawberry.field(description="Minimum number of characters (at least 12).")
    history: int = strawberry.field(description="How many previous passwords may not be reused.")


@strawberry.type(description="An organisation linked as a partner: visible by name and ID only, never its data.")
class PartnerOrganisation:
    id: strawberry.ID = strawberry.field(
        description="The partner's global ID: what `batchCreate` takes as `organisationId`. It opens none of the "
        "partner's data (`node` answers null for it)."
    )
    organisation_id: str = strawberry.field(description="The partner's organisation ID (the one to copy).")
    name: str = strawberry.field(description="The partner's name.")

    @classmethod
    def from_model(cls, row: m.Organisation) -> PartnerOrganisation:
        return cls(id=strawberry.ID(to_global_id("Organisation", row.id)), organisation_id=row.public_id, name=row.name)


@strawberry.type(description="An organisation (tenant). Organisations form a tree through `parent`.")
class Organisation(Node):
    organisation_id: str = strawberry.field(
        description="The ID to copy and hand to a partner so that they can link to this organisation."
    )
    name: str = strawberry.field(description="Name.")
    customer_number: str = strawberry.field(
        description="The customer number (8 digits) its users type with their username and password to log in."
    )
    your_reference: str = strawberry.field(description="Your own reference for this organisation.")
    can_create_organisations: bool = strawberry.field(description="Whether it may create child organisations.")
    require_two_factor: bool = strawberry.field(description="Every user must log in with a TOTP code.")
    password_policy: PasswordPolicy = strawberry.field(description="Password rules for its users.")
    created_at: datetime = strawberry.field(description="When it was created.")
    parent_pk: strawberry.Private[int | None]
    pk: strawberry.Private[int]
    path: strawberry.Private[str]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: m.Organisation) -> Organisation:
        return cls(
            id=strawberry.ID(to_global_id("Organisation", row.id)),
            organisation_id=row.public_id,
            name=row.name,
            customer_number=row.customer_number,
            your_reference=row.your_reference,
            can_create_organisations=row.can_create_organisations,
            require_two_factor=row.require_two_factor,
            password_policy=PasswordPolicy(min_length=row.password_min_length, history=row.password_history),
            created_at=row.created_at,
            parent_pk=row.parent_id,
            pk=row.id,
            path=row.path,
        )

    @strawberry.field(description="The parent organisation, or null at the top of what you can see.")
    @relation(
        Batched(
            loaders.visible_organisations,
            key=lambda organisation: organisation.parent_pk,
            build=lambda row: Organisation.from_model(row),
        )
    )
    def parent(self, info: Info) -> Organisation | None: ...

    @strawberry.field(description="The personalised theme (manual §14); null until it is first saved.")
    @relation(Batched(themes, key=lambda organisation: organisation.pk, build=Theme.from_model))
    def theme(self, info: Info) -> Theme | None: ...

    @strawberry.field(description="Organisations linked as partners (name and ID only).")
    @relation(
        Batched(
            partners_by_organisation,
            key=lambda organisation: organisation.pk,
            build=PartnerOrganisation.from_model,
            many=True,
        )
    )
    def partners(self, info: Info) -> list[PartnerOrganisation]: ...
