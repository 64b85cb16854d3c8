"""OpenID Connect / OAuth 2 sign-in (issue 19): providers, the authorization-code flow with PKCE, account
linking by verified e-mail, and the one-time sign-in grant redeemed for `login`'s tokens."""
