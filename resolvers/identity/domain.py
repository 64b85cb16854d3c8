"""What the identity domain brings to the server (see graph.domain)."""

from graph.domain import Domain
from resolvers.identity import invitation_mutations, invitation_queries, mutations, queries, reauthentication
from resolvers.identity.key_rotation import TOTP_SECRETS

DOMAIN = Domain(
    name="identity",
    queries=(queries.IdentityQuery, invitation_queries.InvitationQuery),
    mutations=(
        mutations.IdentityMutation,
        reauthentication.ReauthenticationMutation,
        invitation_mutations.InvitationMutation,
    ),
    node_resolvers={**queries.NODE_RESOLVERS, **invitation_queries.NODE_RESOLVERS},
    sealed=(TOTP_SECRETS,),
)
