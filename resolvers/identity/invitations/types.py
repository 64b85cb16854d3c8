"""GraphQL type of invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import identity as m
from resolvers.identity import loaders
from resolvers.identity.enums import Language, RoleEnum
from resolvers.identity.invitations.rules import effective_state
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.types import User

InvitationStateEnum = strawberry.enum(
    m.InvitationState,
    description=(
        "Where an invitation stands: CREATED, SENT, then ACCEPTED; or REVOKED, or EXPIRED once its link ran out."
    ),
)


@strawberry.type(description="An invitation to register in an organisation through a time-limited, single-use link.")
class Invitation(Node):
    name: str = strawberry.field(description="Name of the invited person (becomes the user's name).")
    email: str | None = strawberry.field(
        description="Where the invitation is sent; null if the person gives their address when accepting."
    )
    language: Language = strawberry.field(description="Language of the invitation mail and of the new user.")
    roles: list[RoleEnum] = strawberry.field(description="Roles the new user gets.")  # type: ignore[valid-type]
    state: InvitationStateEnum = strawberry.field(  # type: ignore[valid-type]
        description="Current state (an open invitation past its expiry reads EXPIRED)."
    )
    expires_at: datetime = strawberry.field(description="Until when the current link can be used.")
    sent_at: datetime | None = strawberry.field(description="When it was last sent, or null.")
    accepted_at: datetime | None = strawberry.field(description="When it was accepted, or null.")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    invited_by_pk: strawberry.Private[int | None]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: m.Invitation) -> Invitation:
        return cls(
            id=strawberry.ID(to_global_id("Invitation", row.id)),
            name=row.name,
            email=row.email,
            language=Language(row.language),
            roles=[m.Role(r) for r in row.roles],
            state=effective_state(row),
            expires_at=row.expires_at,
            sent_at=row.sent_at,
            accepted_at=row.accepted_at,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
            invited_by_pk=row.invited_by_id,
        )

    @strawberry.field(description="The organisation the person is invited to.")
    @relation(
        Batched(loaders.organisations, key=lambda invitation: invitation.organisation_pk, build=Organisation.from_model)
    )
    def organisation(self, info: Info) -> Organisation: ...

    @strawberry.field(description="Who created the invitation; null if deleted or outside what you can see.")
    @relation(Batched(loaders.visible_users, key=lambda invitation: invitation.invited_by_pk, build=User.from_model))
    def invited_by(self, info: Info) -> User | None: ...
