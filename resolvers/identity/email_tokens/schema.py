"""Links mailed to a user: confirming a new e-mail address, resetting a forgotten password (no login needed)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.mutations import mutate
from resolvers.identity.email_tokens import rules
from resolvers.identity.errors import IdentityError


@strawberry.input(description="The token of an address confirmation link.")
class EmailChangeConfirmInput:
    token: str = strawberry.field(description="The token from the link mailed to the new address.")


@strawberry.type(description="Result of confirming a new e-mail address.")
class EmailChangeConfirmPayload:
    email: str | None = strawberry.field(description="The confirmed address, now the account's login name.")
    errors: list[IdentityError] = strawberry.field(description="Why it was refused (INVALID_TOKEN, DUPLICATE).")


@strawberry.input(description="Ask for a password reset link.")
class PasswordResetRequestInput:
    email: str = strawberry.field(description="The e-mail address of the account.")


@strawberry.type(description="Always the same answer, whether or not the address belongs to an account.")
class PasswordResetRequestPayload:
    errors: list[IdentityError] = strawberry.field(description="Always empty.")


@strawberry.input(description="Set a new password with a reset link.")
class PasswordResetInput:
    token: str = strawberry.field(description="The token from the reset link.")
    new_password: str = strawberry.field(description="The new password; must meet the organisation's policy.")


@strawberry.type(description="Result of a password reset.")
class PasswordResetPayload:
    success: bool = strawberry.field(description="The password was set and every session ended.")
    errors: list[IdentityError] = strawberry.field(description="Why it was refused (INVALID_TOKEN, WEAK_PASSWORD, …).")


@strawberry.type
class EmailTokenMutation:
    @strawberry.mutation(description="Confirm a new e-mail address with the link mailed to it (no login needed).")
    async def email_change_confirm(self, info: Info, input: EmailChangeConfirmInput) -> EmailChangeConfirmPayload:
        context = info.context
        return await mutate(
            context,
            EmailChangeConfirmPayload,
            lambda s: rules.confirm_email_change(s, context, input.token),
            lambda user: EmailChangeConfirmPayload(email=user.email, errors=[]),
        )

    @strawberry.mutation(
        description=(
            "Mail a password reset link if the address belongs to an active account; the answer is the same either way."
        )
    )
    async def password_reset_request(self, info: Info, input: PasswordResetRequestInput) -> PasswordResetRequestPayload:
        context = info.context
        return await mutate(
            context,
            PasswordResetRequestPayload,
            lambda s: rules.request_password_reset(s, context, input.email),
            lambda _: PasswordResetRequestPayload(errors=[]),
        )

    @strawberry.mutation(description="Set a new password with a reset link; every session of the account ends.")
    async def password_reset(self, info: Info, input: PasswordResetInput) -> PasswordResetPayload:
        context = info.context
        return await mutate(
            context,
            PasswordResetPayload,
            lambda s: rules.reset_password(s, context, input.token, input.new_password),
            lambda _: PasswordResetPayload(success=True, errors=[]),
            success=False,  # non-null: a refusal says false
        )
