"""`federatedSignIn`: the sign-in code from an OpenID Connect callback's or SAML assertion consumer's redirect,
exchanged for login's tokens."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.errors import as_payload
from graph.mutations import run_in_transaction
from resolvers.identity.federation import rules
from resolvers.identity.sessions.schema import LoginPayload, login_payload


@strawberry.input(
    description="The sign-in code of an OpenID Connect / OAuth 2 or SAML sign-in, and the TOTP code if asked."
)
class FederatedSignInInput:
    code: str = strawberry.field(
        description="The `signin` value of the fragment that /auth/oidc/<provider>/callback or /auth/saml/<id>/acs "
        "redirected to; single use, valid five minutes."
    )
    otp: str | None = strawberry.field(
        default=None,
        description="The 6-digit code of the authenticator app, when the payload asked for it (TWO_FACTOR_REQUIRED); "
        "a wrong one spends the sign-in code.",
    )


@strawberry.type
class FederationMutation:
    @strawberry.mutation(
        description="Finish a sign-in at an OpenID Connect / OAuth 2 provider (GET /auth/oidc/<provider>/start) or "
        "an organisation's SAML identity provider (GET /auth/saml/<id>/start): returns the same tokens as login. "
        "INVALID_TOKEN: unknown, spent or expired code; TWO_FACTOR_REQUIRED: give otp too (the code stays valid); "
        "INVALID_TWO_FACTOR_CODE: wrong otp (the code is spent)."
    )
    async def federated_sign_in(self, info: Info, input: FederatedSignInInput) -> LoginPayload:
        context = info.context
        # as login: the rule returns its refusal, which is committed (a wrong otp spends the code)
        issued = await run_in_transaction(context, lambda s: rules.redeem(s, context, input.code, input.otp))
        return as_payload(LoginPayload, issued, login_payload)
