"""GraphQL types of external users and their invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import (
    Node,
    to_global_id,
)
from models import identity as m
from models import remote as r
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.remote.access.loaders import users
from resolvers.remote.external.loaders import organisation_names


@strawberry.type(
    description=(
        "A user of another organisation as the organisation that let them in sees them: name and e-mail address "
        "only (their roles, 2FA and organisation are not yours to read)."
    )
)
class ExternalPerson:
    id: strawberry.ID = strawberry.field(
        description=(
            "Their user ID, to give them locations (locationAccessSet) or remove them; node(id) does not find it."
        )
    )
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="E-mail address.")

    @classmethod
    def from_model(cls, row: m.User) -> ExternalPerson:
        return cls(id=strawberry.ID(to_global_id("User", row.id)), name=row.name, email=row.email)


@strawberry.type(
    description="A user of another organisation let into this one: they reach only the locations given to them here."
)
class ExternalUser:
    created_at: datetime = strawberry.field(description="When they were added (their invitation was accepted).")
    user_pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: r.ExternalUser) -> ExternalUser:
        return cls(created_at=row.created_at, user_pk=row.user_id, organisation_pk=row.organisation_id)

    @strawberry.field(description="The user: name and e-mail address only.")
    @relation(Batched(users, key=lambda external: external.user_pk, build=ExternalPerson.from_model))
    def user(self, info: Info) -> ExternalPerson: ...

    @strawberry.field(description="The organisation (of your subtree) they were let into.")
    @relation(
        Batched(
            identity_loaders.organisations, key=lambda external: external.organisation_pk, build=Organisation.from_model
        )
    )
    def organisation(self, info: Info) -> Organisation: ...


@strawberry.type(
    description=(
        "An organisation's offer to let the holder of an e-mail address in as an external user, until they (or an "
        "admin of their organisation) accept or decline it, or the organisation withdraws it."
    )
)
class ExternalUserInvitation(Node):
    email: str = strawberry.field(
        description="The invited address (as typed by the inviting organisation, lower case)."
    )
    created_at: datetime = strawberry.field(description="When it was made.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_row(cls, row: r.ExternalUserInvitation) -> ExternalUserInvitation:
        return cls(
            id=strawberry.ID(to_global_id("ExternalUserInvitation", row.id)),
            email=row.email,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="Name of the inviting organisation.")
    @relation(Batched(organisation_names, key=lambda invitation: invitation.organisation_pk))
    def organisation_name(self, info: Info) -> str: ...

    @strawberry.field(description="The inviting organisation; null unless it is of your subtree (the inviting side).")
    @relation(
        Batched(
            identity_loaders.visible_organisations,
            key=lambda invitation: invitation.organisation_pk,
            build=Organisation.from_model,
        )
    )
    def organisation(self, info: Info) -> Organisation | None: ...
