"""GraphQL type of a federated identity: a user's account at an OpenID Connect / OAuth 2 provider."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graph.relay import Node, to_global_id
from models import federation as fed


@strawberry.type(
    description="An account at an OpenID Connect / OAuth 2 provider that signs in as a user (linked at its first "
    "sign-in by a verified e-mail address). Its tokens are never stored or shown."
)
class FederatedIdentity(Node):
    provider: str = strawberry.field(description="The provider's name in FLEETGRAPH_OIDC_PROVIDERS, e.g. entra.")
    email: str = strawberry.field(description="The verified e-mail address it was linked by.")
    linked_at: datetime = strawberry.field(description="When it was linked (its first sign-in).")
    last_sign_in_at: datetime | None = strawberry.field(description="When it last signed in; null: never since.")

    @classmethod
    def from_model(cls, row: fed.FederatedIdentity) -> FederatedIdentity:
        return cls(
            id=strawberry.ID(to_global_id("FederatedIdentity", row.id)),
            provider=row.provider,
            email=row.email,
            linked_at=row.linked_at,
            last_sign_in_at=row.last_sign_in_at,
        )
