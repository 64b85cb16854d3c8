"""OpenID Connect / OAuth 2 sign-in: pending authorisations (state, nonce, PKCE verifier) and the federated
identities linked to users (issue 19; filled in by the OIDC work)."""
