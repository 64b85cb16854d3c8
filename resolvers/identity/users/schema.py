"""Users: the `me` and `users` queries, and the user mutations (create, edit, passwords, permissions)."""

from __future__ import annotations

import enum

import strawberry
from sqlalchemy import Select, select
from strawberry.types import Info

from graph.filters import contains
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs, require_principal
from graph.relay import (
    Connection,
    OrderDirection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    node_loader,
    paginate,
)
from graph.rules import UNSET, unset_if_null
from graph.tenancy import visible_organisation_ids
from models import identity as m
from resolvers.identity import loaders
from resolvers.identity.enums import Language, PermissionEnum, RoleEnum
from resolvers.identity.errors import IdentityError
from resolvers.identity.lookups import organisation_filter_pk
from resolvers.identity.users import rules
from resolvers.identity.users.types import User


@strawberry.input(description="Narrow the users list; all given conditions must hold.")
class UserFilter:
    name: str | None = strawberry.field(default=None, description="Name contains (case-insensitive).")
    email: str | None = strawberry.field(default=None, description="E-mail contains (case-insensitive).")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="In this organisation.")
    role: RoleEnum | None = strawberry.field(default=None, description="Has this role.")  # type: ignore[valid-type]
    is_active: bool | None = strawberry.field(default=None, description="Active or deactivated.")


@strawberry.enum(description="Fields to sort users by.")
class UserOrderField(enum.Enum):
    NAME = "name"
    EMAIL = "email"
    CREATED_AT = "created_at"


@strawberry.input(description="Sort order of the users list.")
class UserOrder:
    field: UserOrderField = strawberry.field(description="Sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Direction.")


def _filtered(statement: Select[m.User], filter: UserFilter) -> Select[m.User]:
    if filter.name:
        statement = statement.where(contains(m.User.name, filter.name, "filter.name"))
    if filter.email:
        statement = statement.where(contains(m.User.email, filter.email, "filter.email"))
    if filter.organisation_id is not None:
        statement = statement.where(
            m.User.organisation_id == organisation_filter_pk(filter.organisation_id, "filter.organisationId")
        )
    if filter.role is not None:
        statement = statement.where(m.User.id.in_(select(m.UserRole.user_id).where(m.UserRole.role == filter.role)))
    if filter.is_active is not None:
        statement = statement.where(m.User.is_active == filter.is_active)
    return statement


@strawberry.type
class UserQuery:
    @strawberry.field(description="The logged-in user.", permission_classes=[needs(allow_pending_two_factor=True)])
    async def me(self, info: Info) -> User:
        principal = require_principal(info.context, allow_pending_two_factor=True)
        row = await info.context.loaders(loaders.visible_users).load(principal.user_id)
        return User.from_model(row)

    @strawberry.field(
        description="Users of your organisation and its descendants.",
        permission_classes=[needs(m.Permission.USERS_READ)],
    )
    async def users(
        self,
        info: Info,
        filter: UserFilter | None = None,
        order_by: UserOrder | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[User]:
        principal = info.context.principal
        statement = select(m.User).where(m.User.organisation_id.in_(visible_organisation_ids(principal)))
        if filter is not None:
            statement = _filtered(statement, filter)
        order = order_by or UserOrder(field=UserOrderField.NAME)
        descending = order.direction == OrderDirection.DESC
        keys = [SortKey(getattr(m.User, order.field.value), descending), SortKey(m.User.id, descending)]
        return await paginate(
            info.context,
            statement,
            keys,
            User.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, User),
        )


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
    username: str | None = strawberry.field(
        default=None,
        description="Login name with the organisation's customer number (letters, digits, . - _; unique in the "
        "organisation, stored in lower case); default none: the user logs in by e-mail.",
    )

    def to_new_user(self) -> rules.NewUser:
        return rules.NewUser(
            name=self.name,
            email=self.email,
            password=self.password,
            organisation_id=self.organisation_id,
            roles=list(self.roles) if self.roles is not None else None,
            language=self.language.value,
            csv_delimiter=self.csv_delimiter,
            csv_thousands_separator=self.csv_thousands_separator,
            require_two_factor=self.require_two_factor,
            username=self.username,
        )


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
    username: str | None = strawberry.field(
        default=UNSET,
        description="New login name (unique in the organisation); null removes it (the user logs in by e-mail).",
    )

    def to_changes(self) -> rules.UserChanges:
        return rules.UserChanges(
            name=unset_if_null(self.name),
            email=unset_if_null(self.email),
            organisation_id=unset_if_null(self.organisation_id),
            roles=unset_if_null(self.roles),
            language=unset_if_null(self.language.value if self.language is not None else None),
            csv_delimiter=unset_if_null(self.csv_delimiter),
            csv_thousands_separator=unset_if_null(self.csv_thousands_separator),
            require_two_factor=unset_if_null(self.require_two_factor),
            username=self.username,  # UNSET when not given; null clears
        )


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


def _user(user: m.User) -> UserPayload:
    return UserPayload(user=User.from_model(user), errors=[])


@strawberry.type
class UserMutation:
    @strawberry.mutation(
        description="Change your password; your other sessions end.",
        permission_classes=[needs(allow_pending_two_factor=True)],
    )
    async def password_change(self, info: Info, input: PasswordChangeInput) -> UserPayload:
        context = info.context
        return await mutate(
            context,
            UserPayload,
            lambda s: rules.change_password(s, context, input.current_password, input.new_password),
            _user,
        )

    @strawberry.mutation(
        description="Set the password of a user of your organisation; their sessions end.",
        permission_classes=[needs(m.Permission.USERS_MANAGE)],
    )
    async def user_password_set(self, info: Info, input: UserPasswordSetInput) -> UserPayload:
        context = info.context
        return await mutate(
            context,
            UserPayload,
            lambda s: rules.admin_set_password(s, context, input.user_id, input.new_password),
            _user,
        )

    @strawberry.mutation(description="Create a user.", permission_classes=[needs(m.Permission.USERS_MANAGE)])
    async def user_create(self, info: Info, input: UserCreateInput) -> UserPayload:
        context = info.context
        return await mutate(context, UserPayload, lambda s: rules.create_user(s, context, input.to_new_user()), _user)

    @strawberry.mutation(
        description="Edit a user (yourself: name, e-mail, language and CSV settings only).",
        permission_classes=[needs()],
    )
    async def user_update(self, info: Info, input: UserUpdateInput) -> UserPayload:
        context = info.context
        return await mutate(
            context, UserPayload, lambda s: rules.update_user(s, context, input.id, input.to_changes()), _user
        )

    @strawberry.mutation(
        description="Deactivate a user: they can no longer log in.",
        permission_classes=[needs(m.Permission.USERS_MANAGE)],
    )
    async def user_deactivate(self, info: Info, input: UserIdInput) -> UserPayload:
        context = info.context
        return await mutate(context, UserPayload, lambda s: rules.set_active(s, context, input.id, False), _user)

    @strawberry.mutation(
        description="Reactivate a deactivated user.", permission_classes=[needs(m.Permission.USERS_MANAGE)]
    )
    async def user_reactivate(self, info: Info, input: UserIdInput) -> UserPayload:
        context = info.context
        return await mutate(context, UserPayload, lambda s: rules.set_active(s, context, input.id, True), _user)

    @strawberry.mutation(
        description="Delete a user for good (their audit trail stays).",
        permission_classes=[needs(m.Permission.USERS_MANAGE)],
    )
    async def user_delete(self, info: Info, input: UserIdInput) -> UserDeletePayload:
        context = info.context
        return await mutate(
            context,
            UserDeletePayload,
            lambda s: rules.delete_user(s, context, input.id),
            lambda deleted_id: UserDeletePayload(deleted_id=strawberry.ID(deleted_id), errors=[]),
        )

    @strawberry.mutation(
        description="Grant permissions (advanced functions) to a user; you can grant only what you hold.",
        permission_classes=[needs(m.Permission.USERS_MANAGE)],
    )
    async def user_permissions_set(self, info: Info, input: UserPermissionsSetInput) -> UserPayload:
        context = info.context
        return await mutate(
            context,
            UserPayload,
            lambda s: rules.set_granted_permissions(s, context, input.id, list(input.permissions)),
            _user,
        )


NODE_RESOLVERS = {"User": (m.Permission.USERS_READ, node_loader(loaders.visible_users, User.from_model))}
