"""`federatedIdentityUnlink`; the identities are listed on `User.federatedIdentities` (users/types.py)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import node_loader
from resolvers.identity.errors import IdentityError
from resolvers.identity.federated_identities import loaders, rules
from resolvers.identity.federated_identities.types import FederatedIdentity
from resolvers.identity.users.types import User


@strawberry.input(description="A federated identity (User.federatedIdentities) to unlink.")
class FederatedIdentityUnlinkInput:
    id: strawberry.ID = strawberry.field(description="The identity's ID.")


@strawberry.type(description="The unlinked identity's ID and its user, or why it was refused.")
class FederatedIdentityUnlinkPayload:
    unlinked_id: strawberry.ID | None = strawberry.field(description="The ID of the identity that was unlinked.")
    user: User | None = strawberry.field(description="The user it belonged to, as they are now.")
    errors: list[IdentityError] = strawberry.field(description="Why it was refused.")


@strawberry.type
class FederatedIdentityMutation:
    @strawberry.mutation(
        description="Unlink a federated identity: your own, or (USERS_MANAGE) one of a user you may manage. It can "
        "no longer sign in (a later sign-in with a verified e-mail links it again). LAST_SIGN_IN_METHOD: it is the "
        "user's only way in (no password, no other identity, no SAML link); NOT_FOUND: no such identity in reach.",
        permission_classes=[needs()],
    )
    async def federated_identity_unlink(
        self, info: Info, input: FederatedIdentityUnlinkInput
    ) -> FederatedIdentityUnlinkPayload:
        context = info.context
        return await mutate(
            context,
            FederatedIdentityUnlinkPayload,
            lambda s: rules.unlink(s, context, input.id),
            lambda user: FederatedIdentityUnlinkPayload(unlinked_id=input.id, user=User.from_model(user), errors=[]),
        )


NODE_RESOLVERS = {"FederatedIdentity": (None, node_loader(loaders.visible_identities, FederatedIdentity.from_model))}
