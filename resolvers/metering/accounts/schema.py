"""Sign-up and sign-in with a one-time code (e-mail or SMS), and the profile's phone number."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.errors import as_payload
from graph.mutations import mutate, run_in_transaction
from graph.permissions import needs
from models import identity as m
from resolvers.identity.enums import Language
from resolvers.identity.errors import IdentityError
from resolvers.identity.sessions.schema import LoginPayload, login_payload
from resolvers.identity.users.schema import UserPayload
from resolvers.identity.users.types import User
from resolvers.metering.accounts import rules

_ADDRESS = "Give exactly one of email and phone (international form, e.g. +49 170 1234567)."


@strawberry.input(description=f"Where to send a sign-in code. {_ADDRESS}")
class SignInCodeSendInput:
    email: str | None = strawberry.field(default=None, description="An e-mail address.")
    phone: str | None = strawberry.field(default=None, description="A phone number; needs an SMS gateway.")
    language: Language = strawberry.field(
        default=Language.EN,
        description="The message's language for an address without an account (else the account's).",
    )


@strawberry.type(description="The same answer whether or not the address has an account.")
class SignInCodeSendPayload:
    sent: bool = strawberry.field(description="A code is on its way (valid 10 minutes).")
    errors: list[IdentityError] = strawberry.field(
        description="Why not: INVALID address, TOO_MANY_ATTEMPTS (3 codes in 15 minutes), NOT_ALLOWED (no SMS)."
    )


@strawberry.input(description=f"A code sent by signInCodeSend. {_ADDRESS}")
class SignInWithCodeInput:
    email: str | None = strawberry.field(default=None, description="The e-mail address the code was sent to.")
    phone: str | None = strawberry.field(default=None, description="The phone number the code was sent to.")
    code: str = strawberry.field(description="The 6-digit code.")
    otp: str | None = strawberry.field(
        default=None, description="The code of the authenticator app, for an account with two-factor on."
    )
    language: Language = strawberry.field(
        default=Language.EN, description="The language of an account made by this sign-in (a first one)."
    )


@strawberry.input(description="A new phone number for your profile; a code is sent to it.")
class ProfilePhoneCodeSendInput:
    phone: str = strawberry.field(description="The number in international form, e.g. +49 170 1234567.")


@strawberry.input(description="The new phone number and the code sent to it; or null to remove the number.")
class ProfilePhoneSetInput:
    phone: str | None = strawberry.field(description="The number the code was sent to; null removes yours.")
    code: str | None = strawberry.field(default=None, description="The 6-digit code (not for a removal).")


def _sent(_: object) -> SignInCodeSendPayload:
    return SignInCodeSendPayload(sent=True, errors=[])


def _user(user: m.User) -> UserPayload:
    return UserPayload(user=User.from_model(user), errors=[])


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Send a one-time code to an e-mail address or phone number, to sign in or sign up with."
    )
    async def sign_in_code_send(self, info: Info, input: SignInCodeSendInput) -> SignInCodeSendPayload:
        context = info.context
        return await mutate(
            context,
            SignInCodeSendPayload,
            lambda s: rules.send_sign_in_code(s, context, input.email, input.phone, input.language.value),
            _sent,
            sent=False,
        )

    @strawberry.mutation(
        description=(
            "Sign in with a code from signInCodeSend: the tokens of `login`. The first valid code of an address "
            "makes its account (a consumer of the consumers' organisation)."
        )
    )
    async def sign_in_with_code(self, info: Info, input: SignInWithCodeInput) -> LoginPayload:
        context = info.context
        # as login: the rule returns its refusal, so that a failed try is committed
        issued = await run_in_transaction(
            context,
            lambda s: rules.sign_in_with_code(
                s, context, input.email, input.phone, input.code, input.otp, input.language.value
            ),
        )
        return as_payload(LoginPayload, issued, login_payload)

    @strawberry.mutation(
        description="Send a code to a new phone number of your profile (profilePhoneSet takes it).",
        permission_classes=[needs()],
    )
    async def profile_phone_code_send(self, info: Info, input: ProfilePhoneCodeSendInput) -> SignInCodeSendPayload:
        context = info.context
        return await mutate(
            context, SignInCodeSendPayload, lambda s: rules.send_phone_code(s, context, input.phone), _sent, sent=False
        )

    @strawberry.mutation(
        description=(
            "Make a phone number yours with the code sent to it (you can then sign in with it by SMS), or remove it."
        ),
        permission_classes=[needs()],
    )
    async def profile_phone_set(self, info: Info, input: ProfilePhoneSetInput) -> UserPayload:
        context = info.context
        user = await run_in_transaction(context, lambda s: rules.set_phone(s, context, input.phone, input.code))
        return as_payload(UserPayload, user, _user)
