"""Mutations of invitations, address confirmation and password reset."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.errors import DomainError
from graph.mutations import run_in_transaction
from graph.permissions import needs
from models.identity import Permission
from resolvers.identity import email_tokens, invitations
from resolvers.identity.invitation_types import Invitation
from resolvers.identity.mutations import _errors
from resolvers.identity.types import IdentityError, Language, RoleEnum, User


@strawberry.input(description="A new invitation.")
class InvitationCreateInput:
    name: str = strawberry.field(description="Name of the person (becomes the user's name).")
    email: str | None = strawberry.field(
        default=None,
        description="Their e-mail address; without one, they give it when accepting and you hand on the link.",
    )
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="Default: your organisation.")
    roles: list[RoleEnum] | None = strawberry.field(default=None, description="Default: USER.")  # type: ignore[valid-type]
    language: Language = strawberry.field(default=Language.EN, description="Language of the mail and of the new user.")


@strawberry.type(description="A new invitation and, once only, its registration link.")
class InvitationCreatePayload:
    invitation: Invitation | None = strawberry.field(description="The invitation, or null when refused.")
    registration_link: str | None = strawberry.field(
        description="The link, shown once (to hand on yourself). Sending the invitation makes a new link and this one stops working."
    )
    errors: list[IdentityError] = strawberry.field(description="Why the invitation was refused.")


@strawberry.input(description="Changes to an open (CREATED or SENT) invitation; omitted fields stay as they are.")
class InvitationUpdateInput:
    id: strawberry.ID = strawberry.field(description="The invitation.")
    name: str | None = strawberry.field(default=None, description="Name.")
    email: str | None = strawberry.field(
        default=None,
        description="E-mail address (empty removes it). A new address makes a new link and puts the invitation back to CREATED.",
    )
    roles: list[RoleEnum] | None = strawberry.field(default=None, description="Replace the roles.")  # type: ignore[valid-type]
    language: Language | None = strawberry.field(default=None, description="Language.")


@strawberry.input(description="An invitation, by ID.")
class InvitationIdInput:
    id: strawberry.ID = strawberry.field(description="The invitation.")


@strawberry.type(description="An invitation after a change.")
class InvitationPayload:
    invitation: Invitation | None = strawberry.field(description="The invitation, or null when refused.")
    errors: list[IdentityError] = strawberry.field(description="Why the change was refused.")


@strawberry.type(description="The invitation mail as it would be sent (the link in it does not work).")
class InvitationPreviewPayload:
    subject: str | None = strawberry.field(description="Subject line.")
    html: str | None = strawberry.field(description="HTML body.")
    text: str | None = strawberry.field(description="Plain-text body.")
    errors: list[IdentityError] = strawberry.field(description="Why there is no preview.")


@strawberry.input(description="Register with an invitation link.")
class InvitationAcceptInput:
    token: str = strawberry.field(description="The token of the registration link.")
    password: str = strawberry.field(description="Your password; must meet the organisation's policy.")
    email: str | None = strawberry.field(
        default=None, description="Your e-mail address: needed only if the invitation has none."
    )


@strawberry.type(description="The new user, or why registration was refused.")
class InvitationAcceptPayload:
    user: User | None = strawberry.field(description="The new user; log in with its e-mail and your password.")
    errors: list[IdentityError] = strawberry.field(
        description="Why registration was refused (INVALID_TOKEN, EXPIRED, …)."
    )


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


def _invitation_payload(result) -> InvitationPayload:
    if isinstance(result, DomainError):
        return InvitationPayload(invitation=None, errors=_errors(result))
    return InvitationPayload(invitation=Invitation.from_model(result), errors=[])


MANAGE = [needs(Permission.INVITATIONS_MANAGE)]


@strawberry.type
class InvitationMutation:
    @strawberry.mutation(
        description="Invite someone to an organisation of yours with roles you may give.", permission_classes=MANAGE
    )
    async def invitation_create(self, info: Info, input: InvitationCreateInput) -> InvitationCreatePayload:
        context = info.context
        result = await run_in_transaction(
            context,
            lambda s: invitations.create(
                s,
                context,
                name=input.name,
                email=input.email,
                organisation_id=input.organisation_id,
                roles=list(input.roles) if input.roles is not None else None,
                language=input.language.value,
            ),
        )
        if isinstance(result, DomainError):
            return InvitationCreatePayload(invitation=None, registration_link=None, errors=_errors(result))
        return InvitationCreatePayload(
            invitation=Invitation.from_model(result.invitation), registration_link=result.link, errors=[]
        )

    @strawberry.mutation(description="Edit an open invitation.", permission_classes=MANAGE)
    async def invitation_update(self, info: Info, input: InvitationUpdateInput) -> InvitationPayload:
        context = info.context
        return _invitation_payload(
            await run_in_transaction(
                context,
                lambda s: invitations.update(
                    s,
                    context,
                    input.id,
                    name=input.name,
                    email=input.email,
                    roles=list(input.roles) if input.roles is not None else None,
                    language=input.language.value if input.language is not None else None,
                ),
            )
        )

    @strawberry.mutation(
        description="The invitation mail as it would be sent, without sending it.", permission_classes=MANAGE
    )
    async def invitation_preview(self, info: Info, input: InvitationIdInput) -> InvitationPreviewPayload:
        context = info.context
        result = await run_in_transaction(context, lambda s: invitations.preview(s, context, input.id))
        if isinstance(result, DomainError):
            return InvitationPreviewPayload(subject=None, html=None, text=None, errors=_errors(result))
        return InvitationPreviewPayload(subject=result.subject, html=result.body_html, text=result.body_text, errors=[])

    @strawberry.mutation(
        description="Mail the invitation (again): a new link valid for the configured hours; earlier links stop working.",
        permission_classes=MANAGE,
    )
    async def invitation_send(self, info: Info, input: InvitationIdInput) -> InvitationPayload:
        context = info.context
        return _invitation_payload(await run_in_transaction(context, lambda s: invitations.send(s, context, input.id)))

    @strawberry.mutation(description="Revoke an open invitation: its link stops working.", permission_classes=MANAGE)
    async def invitation_revoke(self, info: Info, input: InvitationIdInput) -> InvitationPayload:
        context = info.context
        return _invitation_payload(
            await run_in_transaction(context, lambda s: invitations.revoke(s, context, input.id))
        )

    @strawberry.mutation(description="Register with an invitation link (no login needed); the link is spent.")
    async def invitation_accept(self, info: Info, input: InvitationAcceptInput) -> InvitationAcceptPayload:
        context = info.context
        result = await run_in_transaction(
            context, lambda s: invitations.accept(s, context, input.token, input.password, input.email)
        )
        if isinstance(result, DomainError):
            return InvitationAcceptPayload(user=None, errors=_errors(result))
        return InvitationAcceptPayload(user=User.from_model(result), errors=[])

    @strawberry.mutation(description="Confirm a new e-mail address with the link mailed to it (no login needed).")
    async def email_change_confirm(self, info: Info, input: EmailChangeConfirmInput) -> EmailChangeConfirmPayload:
        context = info.context
        result = await run_in_transaction(context, lambda s: email_tokens.confirm_email_change(s, context, input.token))
        if isinstance(result, DomainError):
            return EmailChangeConfirmPayload(email=None, errors=_errors(result))
        return EmailChangeConfirmPayload(email=result.email, errors=[])

    @strawberry.mutation(
        description="Mail a password reset link if the address belongs to an active account; the answer is the same either way."
    )
    async def password_reset_request(self, info: Info, input: PasswordResetRequestInput) -> PasswordResetRequestPayload:
        context = info.context
        await run_in_transaction(context, lambda s: email_tokens.request_password_reset(s, context, input.email))
        return PasswordResetRequestPayload(errors=[])

    @strawberry.mutation(description="Set a new password with a reset link; every session of the account ends.")
    async def password_reset(self, info: Info, input: PasswordResetInput) -> PasswordResetPayload:
        context = info.context
        result = await run_in_transaction(
            context, lambda s: email_tokens.reset_password(s, context, input.token, input.new_password)
        )
        if isinstance(result, DomainError):
            return PasswordResetPayload(success=False, errors=_errors(result))
        return PasswordResetPayload(success=True, errors=[])
