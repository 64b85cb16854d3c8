"""Sessions: login, token refresh, logout, two-factor enrolment and reauthentication."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from graph.errors import as_payload
from graph.mutations import mutate, run_in_transaction
from graph.permissions import needs
from models import identity as m
from resolvers.identity.errors import IdentityError
from resolvers.identity.sessions import rules, totp
from resolvers.identity.sessions.login_names import Credentials
from resolvers.identity.users.schema import UserPayload
from resolvers.identity.users.types import User


@strawberry.input(
    description="E-mail and password, or customer number, username and password (no customer number on the "
    "organisation's own verified login domain); and the TOTP code when two-factor is on."
)
class LoginInput:
    email: str | None = strawberry.field(
        default=None, description="The e-mail address of the account (or give username instead)."
    )
    customer_number: str | None = strawberry.field(
        default=None,
        description="The organisation's customer number, with username; not needed when the request is sent to "
        "the organisation's verified login domain (its Host header).",
    )
    username: str | None = strawberry.field(default=None, description="The username within the organisation.")
    password: str = strawberry.field(description="The password.")
    otp: str | None = strawberry.field(default=None, description="The 6-digit code of the authenticator app.")

    def credentials(self) -> Credentials:
        return Credentials(
            password=self.password,
            email=self.email,
            customer_number=self.customer_number,
            username=self.username,
            otp=self.otp,
        )


@strawberry.type(description="Tokens of a new session (or the reason there is none).")
class LoginPayload:
    access_token: str | None = strawberry.field(description="Send as `Authorization: Bearer …`.")
    access_token_expires_at: datetime | None = strawberry.field(description="When the access token expires.")
    refresh_token: str | None = strawberry.field(
        description="Exchange for new tokens with tokenRefresh; single use. Null for API users."
    )
    user: User | None = strawberry.field(description="Who logged in.")
    errors: list[IdentityError] = strawberry.field(description="Why the login was refused.")


@strawberry.input(description="A refresh token from login or an earlier refresh.")
class TokenRefreshInput:
    refresh_token: str = strawberry.field(description="The refresh token.")


@strawberry.input(description="Which sessions to end.")
class LogoutInput:
    all_sessions: bool = strawberry.field(
        default=False, description="End every session of the user, not only this one."
    )


@strawberry.type(description="Result of logout.")
class LogoutPayload:
    errors: list[IdentityError] = strawberry.field(description="Always empty: logout cannot fail.")


@strawberry.input(description="Start two-factor enrolment; needs your password.")
class TwoFactorEnrolInput:
    password: str = strawberry.field(description="Your password.")


@strawberry.type(description="Scan the URI (or type the secret) into an authenticator app, then confirm a code.")
class TwoFactorEnrolPayload:
    provisioning_uri: str | None = strawberry.field(description="otpauth:// URI for a QR code.")
    secret: str | None = strawberry.field(description="The base32 secret, for typing in by hand. Shown once.")
    errors: list[IdentityError] = strawberry.field(description="Why enrolment was refused.")


@strawberry.input(description="A code from the authenticator app.")
class TwoFactorConfirmInput:
    code: str = strawberry.field(description="6-digit code.")


@strawberry.input(description="Turn two-factor off (only where it is not required).")
class TwoFactorDisableInput:
    password: str = strawberry.field(description="Your password.")
    code: str = strawberry.field(description="A current 6-digit code.")


@strawberry.input(description="Your password, or the 6-digit code of your authenticator app (when two-factor is on).")
class SessionReauthenticateInput:
    password: str | None = strawberry.field(default=None, description="Your password.")
    otp: str | None = strawberry.field(
        default=None, description="The 6-digit code of your authenticator app; only if two-factor is confirmed."
    )


@strawberry.type(description="When this session was authenticated again, or why not.")
class SessionReauthenticatePayload:
    reauthenticated_at: datetime | None = strawberry.field(
        description="The new authentication time of this session (every token of it); null when refused."
    )
    errors: list[IdentityError] = strawberry.field(
        description="REQUIRED (neither given), INVALID_CREDENTIALS (wrong password or code; counted like a failed "
        "login), TOO_MANY_ATTEMPTS or ACCOUNT_LOCKED (throttled like logins)."
    )


def login_payload(issued: rules.IssuedTokens) -> LoginPayload:
    return LoginPayload(
        access_token=issued.access_token,
        access_token_expires_at=issued.access_expires_at,
        refresh_token=issued.refresh_token,
        user=User.from_model(issued.user),
        errors=[],
    )


def _user(user: m.User) -> UserPayload:
    return UserPayload(user=User.from_model(user), errors=[])


PENDING_TWO_FACTOR = [needs(allow_pending_two_factor=True)]


@strawberry.type
class SessionMutation:
    @strawberry.mutation(
        description="Log in with e-mail and password, or customer number, username and password (and TOTP code): "
        "returns tokens."
    )
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        context = info.context
        # mutate() in two steps: the rule may *return* a DomainError (committed), which mutate's types cannot express
        issued = await run_in_transaction(context, lambda s: rules.login(s, context, input.credentials()))
        return as_payload(LoginPayload, issued, login_payload)

    @strawberry.mutation(description="Exchange a refresh token for new tokens; the old one is spent.")
    async def token_refresh(self, info: Info, input: TokenRefreshInput) -> LoginPayload:
        context = info.context
        # as login: the rule may return a DomainError
        issued = await run_in_transaction(context, lambda s: rules.refresh(s, context, input.refresh_token))
        return as_payload(LoginPayload, issued, login_payload)

    @strawberry.mutation(
        description="End this session (or all of yours): its tokens stop working at once.",
        permission_classes=PENDING_TWO_FACTOR,
    )
    async def logout(self, info: Info, input: LogoutInput) -> LogoutPayload:
        context = info.context
        return await mutate(
            context,
            LogoutPayload,
            lambda s: rules.logout(s, context, input.all_sessions),
            lambda _: LogoutPayload(errors=[]),
        )

    @strawberry.mutation(
        description="Start TOTP enrolment (replaces an unconfirmed one).", permission_classes=PENDING_TWO_FACTOR
    )
    async def two_factor_enrol(self, info: Info, input: TwoFactorEnrolInput) -> TwoFactorEnrolPayload:
        context = info.context
        return await mutate(
            context,
            TwoFactorEnrolPayload,
            lambda s: totp.two_factor_enrol(s, context, input.password),
            lambda enrolment: TwoFactorEnrolPayload(
                provisioning_uri=enrolment.provisioning_uri, secret=enrolment.secret, errors=[]
            ),
        )

    @strawberry.mutation(
        description="Confirm TOTP enrolment with a first code; from then on logins need a code.",
        permission_classes=PENDING_TWO_FACTOR,
    )
    async def two_factor_confirm(self, info: Info, input: TwoFactorConfirmInput) -> UserPayload:
        context = info.context
        return await mutate(context, UserPayload, lambda s: totp.two_factor_confirm(s, context, input.code), _user)

    @strawberry.mutation(description="Turn TOTP off where it is not required.", permission_classes=[needs()])
    async def two_factor_disable(self, info: Info, input: TwoFactorDisableInput) -> UserPayload:
        context = info.context
        return await mutate(
            context, UserPayload, lambda s: totp.two_factor_disable(s, context, input.password, input.code), _user
        )

    @strawberry.mutation(
        description=(
            "Prove again who you are, for actions that need a recent authentication (the key download): "
            "the password, or the TOTP code when two-factor is on. Applies to this session's tokens only."
        ),
        permission_classes=[needs()],
    )
    async def session_reauthenticate(
        self, info: Info, input: SessionReauthenticateInput
    ) -> SessionReauthenticatePayload:
        context = info.context
        # as login: the rule may return a DomainError
        at = await run_in_transaction(context, lambda s: rules.reauthenticate(s, context, input.password, input.otp))
        return as_payload(
            SessionReauthenticatePayload, at, lambda at: SessionReauthenticatePayload(reauthenticated_at=at, errors=[])
        )
