"""Identity queries: me, users, organisations, user groups (all within the caller's subtree)."""

from __future__ import annotations

import enum

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.filters import contains
from graph.permissions import needs, require_principal
from graph.relay import (
    Connection,
    OrderDirection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
)
from graph.tenancy import organisation_visible, visible_organisation_ids
from models import identity as m
from resolvers.identity import loaders
from resolvers.identity.types import Organisation, RoleEnum, User, UserGroup


def _organisation_pk(global_id: strawberry.ID | None, argument: str) -> int | None:
    if global_id is None:
        return None
    pk = decode_id(global_id, "Organisation")
    if pk is None:
        raise BadUserInput("Not an organisation ID.", argument=argument)
    return pk


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


@strawberry.input(description="Narrow the organisations list.")
class OrganisationFilter:
    name: str | None = strawberry.field(default=None, description="Name contains (case-insensitive).")
    your_reference: str | None = strawberry.field(default=None, description="Your reference contains.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Direct children of this organisation."
    )


@strawberry.input(description="Narrow the user groups list.")
class UserGroupFilter:
    name: str | None = strawberry.field(default=None, description="Name contains (case-insensitive).")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="In this organisation.")


@strawberry.type
class IdentityQuery:
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
            if filter.name:
                statement = statement.where(contains(m.User.name, filter.name, "filter.name"))
            if filter.email:
                statement = statement.where(contains(m.User.email, filter.email, "filter.email"))
            if filter.organisation_id is not None:
                statement = statement.where(
                    m.User.organisation_id == _organisation_pk(filter.organisation_id, "filter.organisationId")
                )
            if filter.role is not None:
                statement = statement.where(
                    m.User.id.in_(select(m.UserRole.user_id).where(m.UserRole.role == filter.role))
                )
            if filter.is_active is not None:
                statement = statement.where(m.User.is_active == filter.is_active)
        order = order_by or UserOrder(field=UserOrderField.NAME)
        descending = order.direction == OrderDirection.DESC
        keys = [SortKey(getattr(m.User, order.field.value), descending), SortKey(m.User.id, descending)]
        return await paginate(
            info.context, statement, keys, User.from_model, first=first, after=after, last=last, before=before
        )

    @strawberry.field(
        description="Your organisation and its descendants.",
        permission_classes=[needs(m.Permission.ORGANISATIONS_READ)],
    )
    async def organisations(
        self,
        info: Info,
        filter: OrganisationFilter | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Organisation]:
        statement = select(m.Organisation).where(organisation_visible(info.context.principal))
        if filter is not None:
            if filter.name:
                statement = statement.where(contains(m.Organisation.name, filter.name, "filter.name"))
            if filter.your_reference:
                statement = statement.where(
                    contains(m.Organisation.your_reference, filter.your_reference, "filter.yourReference")
                )
            if filter.parent_id is not None:
                # the parent must be visible too: else an invisible ancestor's ID would find the caller's own
                # organisation and read differently from an unknown ID
                statement = statement.where(
                    m.Organisation.parent_id == _organisation_pk(filter.parent_id, "filter.parentId"),
                    m.Organisation.parent_id.in_(visible_organisation_ids(info.context.principal)),
                )
        keys = [SortKey(m.Organisation.name), SortKey(m.Organisation.id)]
        return await paginate(
            info.context, statement, keys, Organisation.from_model, first=first, after=after, last=last, before=before
        )

    @strawberry.field(
        description="User groups of your organisation and its descendants.",
        permission_classes=[needs(m.Permission.USERS_READ)],
    )
    async def user_groups(
        self,
        info: Info,
        filter: UserGroupFilter | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[UserGroup]:
        statement = select(m.UserGroup).where(
            m.UserGroup.organisation_id.in_(visible_organisation_ids(info.context.principal))
        )
        if filter is not None:
            if filter.name:
                statement = statement.where(contains(m.UserGroup.name, filter.name, "filter.name"))
            if filter.organisation_id is not None:
                statement = statement.where(
                    m.UserGroup.organisation_id == _organisation_pk(filter.organisation_id, "filter.organisationId")
                )
        keys = [SortKey(m.UserGroup.name), SortKey(m.UserGroup.id)]
        return await paginate(
            info.context, statement, keys, UserGroup.from_model, first=first, after=after, last=last, before=before
        )


NODE_RESOLVERS = {
    "User": (m.Permission.USERS_READ, node_loader(loaders.visible_users, User.from_model)),
    "Organisation": (
        m.Permission.ORGANISATIONS_READ,
        node_loader(loaders.visible_organisations, Organisation.from_model),
    ),
    "UserGroup": (
        m.Permission.USERS_READ,
        node_loader(loaders.visible_user_groups, UserGroup.from_model),
    ),
}
