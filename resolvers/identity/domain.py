"""What the identity domain brings to the server (see graph.domain)."""

from graph.domain import Domain
from resolvers.identity.branding import schema as branding
from resolvers.identity.branding import serving as branding_serving
from resolvers.identity.branding.demo import seed_demo_branding
from resolvers.identity.contacts import schema as contacts
from resolvers.identity.email_tokens.schema import EmailTokenMutation
from resolvers.identity.federated_identities import schema as federated_identities
from resolvers.identity.federation import serving as federation_serving
from resolvers.identity.federation.commands import seal_oidc_secret
from resolvers.identity.federation.demo import seed_demo_federation
from resolvers.identity.federation.providers import providers
from resolvers.identity.federation.schema import FederationMutation
from resolvers.identity.groups import schema as groups
from resolvers.identity.invitations import schema as invitations
from resolvers.identity.key_rotation import TOTP_SECRETS
from resolvers.identity.loaders import prime_own_rows
from resolvers.identity.organisations import schema as organisations
from resolvers.identity.pages import serving as pages
from resolvers.identity.preferences.schema import PreferencesMutation
from resolvers.identity.saml import schema as saml
from resolvers.identity.saml import serving as saml_serving
from resolvers.identity.saml.demo import seed_demo_saml
from resolvers.identity.sessions.schema import SessionMutation
from resolvers.identity.users import schema as users

DOMAIN = Domain(
    name="identity",
    queries=(
        users.UserQuery,
        organisations.OrganisationQuery,
        groups.UserGroupQuery,
        invitations.InvitationQuery,
        branding.BrandingQuery,  # issue 18
        saml.SamlQuery,  # issue 19
    ),
    mutations=(
        SessionMutation,
        users.UserMutation,
        organisations.OrganisationMutation,
        groups.UserGroupMutation,
        invitations.InvitationMutation,
        EmailTokenMutation,
        contacts.ContactEmailMutation,  # accounts (issue 17)
        PreferencesMutation,  # personal settings (issue 18)
        branding.BrandingMutation,  # issue 18
        FederationMutation,  # OpenID Connect / OAuth 2 sign-in (issue 19)
        federated_identities.FederatedIdentityMutation,  # issue 19: list and unlink
        saml.SamlMutation,  # issue 19
    ),
    node_resolvers={
        **users.NODE_RESOLVERS,
        **organisations.NODE_RESOLVERS,
        **groups.NODE_RESOLVERS,
        **invitations.NODE_RESOLVERS,
        **contacts.NODE_RESOLVERS,  # accounts (issue 17)
        **federated_identities.NODE_RESOLVERS,  # issue 19
    },
    # the forms that links in mails open (no front end needed)
    routes=pages.ROUTES + branding_serving.ROUTES + federation_serving.ROUTES + saml_serving.ROUTES,
    commands={"seal-oidc-secret": seal_oidc_secret},  # issue 19
    documents=pages.DOCUMENTS,
    sealed=(TOTP_SECRETS,),
    prime_request=(prime_own_rows,),
    settings_checks=(providers,),  # FLEETGRAPH_OIDC_PROVIDERS (issue 19)
    # issue 18: customer numbers, usernames, IntegraDemo's theme; issue 19: a linked federated identity, SAML
    demo=(seed_demo_branding, seed_demo_federation, seed_demo_saml),
)
