"""Identity mutations: one `input`, a payload with the changed object and typed `errors`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from graph.errors import DomainError
from graph.mutations import run_in_transaction
from graph.permissions import needs
from models.identity import Permission
from resolvers.identity import services
from resolvers.identity.types import (
    IdentityError,
    Language,
    Organisation,
    PermissionEnum,
    RoleEnum,
    User,
    UserGroup,
)


def _errors(error: DomainError) -> list[IdentityError]:
    return [IdentityError(code=error.code, field=error.field, message=error.message)]


# --- sessions ---------------------------------------------------------------------------------------


@strawberry.input(description="E-mail and password, and the TOTP code when two-factor is on.")
class LoginInput:
    email: str = strawberry.field(description="The e-mail address of the account.")
    password: str = strawberry.field(description="The password.")
    otp: str | None = strawberry.field(default=None, description="The 6-digit code of the authenticator app.")


@strawberry.type(description="Tokens of a new session (or the reason there is none).")
class LoginPayload:
    access_token: str | None = strawberry.field(description="Send as `Authorization: Bearer …`.")
    access_token_expires_at: datetime | None = strawberry.field(description="When the access token expires.")
    refresh_token: str | None = strawberry.field(
        description="Exchange for new tokens with tokenRefresh; single use. Null for API users."
    )
    user: User | None = strawberry.field(description="Who logged in.")
    errors: list[IdentityError] = strawberry.field(description="Why the login was refused.")


def _login_payload(result: services.IssuedTokens | DomainError) -> LoginPayload:
    if isinstance(result, DomainError):
        return LoginPayload(
            access_token=None, access_token_expires_at=None, refresh_token=None, user=None, errors=_errors(result)
        )
    return LoginPayload(
        access_token=result.access_token,
        access_token_expires_at=result.access_expires_at,
        refresh_token=result.refresh_token,
        user=User.from_model(result.user),
        errors=[],
    )


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


@strawberry.input(description="Change your own password.")
class PasswordChangeInput:
    current_password: str = strawberry.field(description="Your current password.")
    new_password: str = strawberry.field(description="The new password; must meet the organisation's policy.")


@strawberry.input(description="An admin sets the password of a user.")
class UserPasswordSetInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")
    new_password: str = strawberry.field(description="The new password; must meet the organisation's policy.")


@strawberry.type(description="A user after a change.")
class UserPayload:
    user: User | None = strawberry.field(description="The user, or null when refused.")
    errors: list[IdentityError] = strawberry.field(description="Why the change was refused.")


def _user_payload(result) -> UserPayload:
    if isinstance(result, DomainError):
        return UserPayload(user=None, errors=_errors(result))
    return UserPayload(user=User.from_model(result), errors=[])


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


# --- users ------------------------------------------------------------------------------------------


@strawberry.input(description="A new user.")
class UserCreateInput:
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="E-mail address (login name).")
    password: str = strawberry.field(description="Initial password; must meet the organisation's policy.")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="Default: your organisation.")
    roles: list[RoleEnum] | None = strawberry.field(default=None, description="Default: USER.")  # type: ignore[valid-type]
    language: Language = strawberry.field(default=Language.EN, description="Language.")
    csv_delimiter: str = strawberry.field(default=";", description="CSV column delimiter.")
    csv_thousands_separator: str = strawberry.field(default="", description="CSV thousands separator.")
    require_two_factor: bool = strawberry.field(default=False, description="Require TOTP for this user.")


@strawberry.input(description="Changes to a user; omitted fields stay as they are.")
class UserUpdateInput:
    id: strawberry.ID = strawberry.field(description="The user.")
    name: str | None = strawberry.field(default=None, description="Full name.")
    email: str | None = strawberry.field(default=None, description="E-mail address.")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="Move to this organisation.")
    roles: list[RoleEnum] | None = strawberry.field(default=None, description="Replace the roles.")  # type: ignore[valid-type]
    language: Language | None = strawberry.field(default=None, description="Language.")
    csv_delimiter: str | None = strawberry.field(default=None, description="CSV column delimiter.")
    csv_thousands_separator: str | None = strawberry.field(default=None, description="CSV thousands separator.")
    require_two_factor: bool | None = strawberry.field(default=None, description="Require TOTP for this user.")


@strawberry.input(description="A user, by ID.")
class UserIdInput:
    id: strawberry.ID = strawberry.field(description="The user.")


@strawberry.type(description="Result of deleting a user.")
class UserDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted user.")
    errors: list[IdentityError] = strawberry.field(description="Why deletion was refused.")


@strawberry.input(description="Replace the permissions granted to a user (advanced functions).")
class UserPermissionsSetInput:
    id: strawberry.ID = strawberry.field(description="The user.")
    permissions: list[PermissionEnum] = strawberry.field(description="The permissions to grant.")  # type: ignore[valid-type]


def _user_fields(data) -> services.UserFields:
    return services.UserFields(
        name=data.name,
        email=data.email,
        organisation_id=data.organisation_id,
        roles=list(data.roles) if data.roles is not None else None,
        language=data.language.value if data.language is not None else None,
        csv_delimiter=data.csv_delimiter,
        csv_thousands_separator=data.csv_thousands_separator,
        require_two_factor=data.require_two_factor,
    )


# --- organisations ----------------------------------------------------------------------------------


@strawberry.input(description="A new organisation below yours (or below `parentId`).")
class OrganisationCreateInput:
    name: str = strawberry.field(description="Name.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Default: your organisation.")
    your_reference: str = strawberry.field(default="", description="Your reference.")
    can_create_organisations: bool = strawberry.field(default=False, description="May create child organisations.")


@strawberry.input(description="Changes to an organisation; omitted fields stay as they are.")
class OrganisationUpdateInput:
    id: strawberry.ID = strawberry.field(description="The organisation.")
    name: str | None = strawberry.field(default=None, description="Name.")
    your_reference: str | None = strawberry.field(default=None, description="Your reference.")
    can_create_organisations: bool | None = strawberry.field(
        default=None, description="May create child organisations."
    )
    password_min_length: int | None = strawberry.field(default=None, description="Minimum password length (12–128).")
    password_history: int | None = strawberry.field(default=None, description="Previous passwords not to reuse (0–24).")
    require_two_factor: bool | None = strawberry.field(default=None, description="Require TOTP for every user.")


@strawberry.type(description="An organisation after a change.")
class OrganisationPayload:
    organisation: Organisation | None = strawberry.field(description="The organisation, or null when refused.")
    errors: list[IdentityError] = strawberry.field(description="Why the change was refused.")


def _organisation_payload(result) -> OrganisationPayload:
    if isinstance(result, DomainError):
        return OrganisationPayload(organisation=None, errors=_errors(result))
    return OrganisationPayload(organisation=Organisation.from_model(result), errors=[])


@strawberry.input(description="Link (or unlink) a partner organisation by the ID its admin gave you.")
class PartnerInput:
    partner_organisation_id: str = strawberry.field(description="The partner's organisation ID (a UUID).")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="Default: your organisation.")


# --- user groups --------------------------------------------------------------------------------------


@strawberry.input(description="A new user group.")
class UserGroupCreateInput:
    name: str = strawberry.field(description="Name, unique in the organisation.")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="Default: your organisation.")
    member_ids: list[strawberry.ID] = strawberry.field(default_factory=list, description="Users of that organisation.")


@strawberry.input(description="Changes to a user group; omitted fields stay as they are.")
class UserGroupUpdateInput:
    id: strawberry.ID = strawberry.field(description="The group.")
    name: str | None = strawberry.field(default=None, description="Name.")
    member_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Replace the members.")


@strawberry.input(description="A user group, by ID.")
class UserGroupIdInput:
    id: strawberry.ID = strawberry.field(description="The group.")


@strawberry.type(description="A user group after a change.")
class UserGroupPayload:
    user_group: UserGroup | None = strawberry.field(description="The group, or null when refused.")
    errors: list[IdentityError] = strawberry.field(description="Why the change was refused.")


@strawberry.type(description="Result of deleting a user group.")
class UserGroupDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted group.")
    errors: list[IdentityError] = strawberry.field(description="Why deletion was refused.")


def _group_payload(result) -> UserGroupPayload:
    if isinstance(result, DomainError):
        return UserGroupPayload(user_group=None, errors=_errors(result))
    return UserGroupPayload(user_group=UserGroup.from_model(result), errors=[])


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(description="Log in with e-mail and password (and TOTP code): returns tokens.")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        context = info.context
        result = await run_in_transaction(
            context, lambda s: services.login(s, context, input.email, input.password, input.otp)
        )
        return _login_payload(result)

    @strawberry.mutation(description="Exchange a refresh token for new tokens; the old one is spent.")
    async def token_refresh(self, info: Info, input: TokenRefreshInput) -> LoginPayload:
        context = info.context
        return _login_payload(
            await run_in_transaction(context, lambda s: services.refresh(s, context, input.refresh_token))
        )

    @strawberry.mutation(
        description="End this session (or all of yours): its tokens stop working at once.",
        permission_classes=[needs(allow_pending_two_factor=True)],
    )
    async def logout(self, info: Info, input: LogoutInput) -> LogoutPayload:
        context = info.context
        await run_in_transaction(context, lambda s: services.logout(s, context, input.all_sessions))
        return LogoutPayload(errors=[])

    @strawberry.mutation(
        description="Change your password; your other sessions end.",
        permission_classes=[needs(allow_pending_two_factor=True)],
    )
    async def password_change(self, info: Info, input: PasswordChangeInput) -> UserPayload:
        context = info.context
        return _user_payload(
            await run_in_transaction(
                context, lambda s: services.change_password(s, context, input.current_password, input.new_password)
            )
        )

    @strawberry.mutation(
        description="Set the password of a user of your organisation; their sessions end.",
        permission_classes=[needs(Permission.USERS_MANAGE)],
    )
    async def user_password_set(self, info: Info, input: UserPasswordSetInput) -> UserPayload:
        context = info.context
        return _user_payload(
            await run_in_transaction(
                context, lambda s: services.admin_set_password(s, context, input.user_id, input.new_password)
            )
        )

    @strawberry.mutation(
        description="Start TOTP enrolment (replaces an unconfirmed one).",
        permission_classes=[needs(allow_pending_two_factor=True)],
    )
    async def two_factor_enrol(self, info: Info, input: TwoFactorEnrolInput) -> TwoFactorEnrolPayload:
        context = info.context
        result = await run_in_transaction(context, lambda s: services.two_factor_enrol(s, context, input.password))
        if isinstance(result, DomainError):
            return TwoFactorEnrolPayload(provisioning_uri=None, secret=None, errors=_errors(result))
        return TwoFactorEnrolPayload(provisioning_uri=result.provisioning_uri, secret=result.secret, errors=[])

    @strawberry.mutation(
        description="Confirm TOTP enrolment with a first code; from then on logins need a code.",
        permission_classes=[needs(allow_pending_two_factor=True)],
    )
    async def two_factor_confirm(self, info: Info, input: TwoFactorConfirmInput) -> UserPayload:
        context = info.context
        return _user_payload(
            await run_in_transaction(context, lambda s: services.two_factor_confirm(s, context, input.code))
        )

    @strawberry.mutation(description="Turn TOTP off where it is not required.", permission_classes=[needs()])
    async def two_factor_disable(self, info: Info, input: TwoFactorDisableInput) -> UserPayload:
        context = info.context
        return _user_payload(
            await run_in_transaction(
                context, lambda s: services.two_factor_disable(s, context, input.password, input.code)
            )
        )

    @strawberry.mutation(description="Create a user.", permission_classes=[needs(Permission.USERS_MANAGE)])
    async def user_create(self, info: Info, input: UserCreateInput) -> UserPayload:
        context = info.context
        return _user_payload(
            await run_in_transaction(
                context, lambda s: services.create_user(s, context, _user_fields(input), input.password)
            )
        )

    @strawberry.mutation(
        description="Edit a user (yourself: name, e-mail, language and CSV settings only).",
        permission_classes=[needs()],
    )
    async def user_update(self, info: Info, input: UserUpdateInput) -> UserPayload:
        context = info.context
        return _user_payload(
            await run_in_transaction(context, lambda s: services.update_user(s, context, input.id, _user_fields(input)))
        )

    @strawberry.mutation(
        description="Deactivate a user: they can no longer log in.", permission_classes=[needs(Permission.USERS_MANAGE)]
    )
    async def user_deactivate(self, info: Info, input: UserIdInput) -> UserPayload:
        context = info.context
        return _user_payload(
            await run_in_transaction(context, lambda s: services.set_active(s, context, input.id, False))
        )

    @strawberry.mutation(
        description="Reactivate a deactivated user.", permission_classes=[needs(Permission.USERS_MANAGE)]
    )
    async def user_reactivate(self, info: Info, input: UserIdInput) -> UserPayload:
        context = info.context
        return _user_payload(
            await run_in_transaction(context, lambda s: services.set_active(s, context, input.id, True))
        )

    @strawberry.mutation(
        description="Delete a user for good (their audit trail stays).",
        permission_classes=[needs(Permission.USERS_MANAGE)],
    )
    async def user_delete(self, info: Info, input: UserIdInput) -> UserDeletePayload:
        context = info.context
        result = await run_in_transaction(context, lambda s: services.delete_user(s, context, input.id))
        if isinstance(result, DomainError):
            return UserDeletePayload(deleted_id=None, errors=_errors(result))
        return UserDeletePayload(deleted_id=strawberry.ID(result), errors=[])

    @strawberry.mutation(
        description="Grant permissions (advanced functions) to a user; you can grant only what you hold.",
        permission_classes=[needs(Permission.USERS_MANAGE)],
    )
    async def user_permissions_set(self, info: Info, input: UserPermissionsSetInput) -> UserPayload:
        context = info.context
        return _user_payload(
            await run_in_transaction(
                context, lambda s: services.set_granted_permissions(s, context, input.id, list(input.permissions))
            )
        )

    @strawberry.mutation(
        description="Create an organisation in your subtree.",
        permission_classes=[needs(Permission.ORGANISATIONS_MANAGE)],
    )
    async def organisation_create(self, info: Info, input: OrganisationCreateInput) -> OrganisationPayload:
        context = info.context
        fields = services.OrganisationFields(
            name=input.name,
            your_reference=input.your_reference,
            can_create_organisations=input.can_create_organisations,
        )
        return _organisation_payload(
            await run_in_transaction(
                context, lambda s: services.create_organisation(s, context, input.parent_id, fields)
            )
        )

    @strawberry.mutation(
        description="Edit an organisation in your subtree.", permission_classes=[needs(Permission.ORGANISATIONS_MANAGE)]
    )
    async def organisation_update(self, info: Info, input: OrganisationUpdateInput) -> OrganisationPayload:
        context = info.context
        fields = services.OrganisationFields(
            name=input.name,
            your_reference=input.your_reference,
            can_create_organisations=input.can_create_organisations,
            password_min_length=input.password_min_length,
            password_history=input.password_history,
            require_two_factor=input.require_two_factor,
        )
        return _organisation_payload(
            await run_in_transaction(context, lambda s: services.update_organisation(s, context, input.id, fields))
        )

    @strawberry.mutation(
        description="Link a partner organisation by its ID.", permission_classes=[needs(Permission.PARTNERS_MANAGE)]
    )
    async def partner_add(self, info: Info, input: PartnerInput) -> OrganisationPayload:
        context = info.context
        return _organisation_payload(
            await run_in_transaction(
                context,
                lambda s: services.add_partner(s, context, input.organisation_id, input.partner_organisation_id),
            )
        )

    @strawberry.mutation(
        description="Unlink a partner organisation.", permission_classes=[needs(Permission.PARTNERS_MANAGE)]
    )
    async def partner_remove(self, info: Info, input: PartnerInput) -> OrganisationPayload:
        context = info.context
        return _organisation_payload(
            await run_in_transaction(
                context,
                lambda s: services.remove_partner(s, context, input.organisation_id, input.partner_organisation_id),
            )
        )

    @strawberry.mutation(description="Create a user group.", permission_classes=[needs(Permission.USER_GROUPS_MANAGE)])
    async def user_group_create(self, info: Info, input: UserGroupCreateInput) -> UserGroupPayload:
        context = info.context
        return _group_payload(
            await run_in_transaction(
                context,
                lambda s: services.create_group(s, context, input.name, input.organisation_id, list(input.member_ids)),
            )
        )

    @strawberry.mutation(
        description="Rename a user group or replace its members.",
        permission_classes=[needs(Permission.USER_GROUPS_MANAGE)],
    )
    async def user_group_update(self, info: Info, input: UserGroupUpdateInput) -> UserGroupPayload:
        context = info.context
        members = list(input.member_ids) if input.member_ids is not None else None
        return _group_payload(
            await run_in_transaction(
                context, lambda s: services.update_group(s, context, input.id, input.name, members)
            )
        )

    @strawberry.mutation(description="Delete a user group.", permission_classes=[needs(Permission.USER_GROUPS_MANAGE)])
    async def user_group_delete(self, info: Info, input: UserGroupIdInput) -> UserGroupDeletePayload:
        context = info.context
        result = await run_in_transaction(context, lambda s: services.delete_group(s, context, input.id))
        if isinstance(result, DomainError):
            return UserGroupDeletePayload(deleted_id=None, errors=_errors(result))
        return UserGroupDeletePayload(deleted_id=strawberry.ID(result), errors=[])
