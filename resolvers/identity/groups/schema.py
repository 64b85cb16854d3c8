"""User groups: the `userGroups` query, and creating, editing and deleting groups."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.filters import contains
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from graph.rules import unset_if_null
from graph.tenancy import visible_organisation_ids
from models import identity as m
from resolvers.identity import loaders
from resolvers.identity.errors import IdentityError
from resolvers.identity.groups import rules
from resolvers.identity.groups.types import UserGroup
from resolvers.identity.lookups import organisation_filter_pk


@strawberry.input(description="Narrow the user groups list.")
class UserGroupFilter:
    name: str | None = strawberry.field(default=None, description="Name contains (case-insensitive).")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="In this organisation.")


@strawberry.type
class UserGroupQuery:
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
                    m.UserGroup.organisation_id
                    == organisation_filter_pk(filter.organisation_id, "filter.organisationId")
                )
        keys = [SortKey(m.UserGroup.name), SortKey(m.UserGroup.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            UserGroup.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, UserGroup),
        )


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


def _group(group: m.UserGroup) -> UserGroupPayload:
    return UserGroupPayload(user_group=UserGroup.from_model(group), errors=[])


MANAGE = [needs(m.Permission.USER_GROUPS_MANAGE)]


@strawberry.type
class UserGroupMutation:
    @strawberry.mutation(description="Create a user group.", permission_classes=MANAGE)
    async def user_group_create(self, info: Info, input: UserGroupCreateInput) -> UserGroupPayload:
        context = info.context
        return await mutate(
            context,
            UserGroupPayload,
            lambda s: rules.create_group(s, context, input.name, input.organisation_id, list(input.member_ids)),
            _group,
        )

    @strawberry.mutation(description="Rename a user group or replace its members.", permission_classes=MANAGE)
    async def user_group_update(self, info: Info, input: UserGroupUpdateInput) -> UserGroupPayload:
        context = info.context
        name, member_ids = unset_if_null(input.name), unset_if_null(input.member_ids)
        return await mutate(
            context, UserGroupPayload, lambda s: rules.update_group(s, context, input.id, name, member_ids), _group
        )

    @strawberry.mutation(description="Delete a user group.", permission_classes=MANAGE)
    async def user_group_delete(self, info: Info, input: UserGroupIdInput) -> UserGroupDeletePayload:
        context = info.context
        return await mutate(
            context,
            UserGroupDeletePayload,
            lambda s: rules.delete_group(s, context, input.id),
            lambda deleted_id: UserGroupDeletePayload(deleted_id=strawberry.ID(deleted_id), errors=[]),
        )


NODE_RESOLVERS = {
    "UserGroup": (m.Permission.USERS_READ, node_loader(loaders.visible_user_groups, UserGroup.from_model))
}
