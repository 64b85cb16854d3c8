"""Configuration groups: list, their routers, create, rename, delete, add and remove routers."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.filters import filter_text
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import (
    Connection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
)
from models import remote as r
from models.identity import Permission
from resolvers.remote.configuration_groups.loaders import configuration_group_visible, visible_configuration_groups
from resolvers.remote.configuration_groups.rules import (
    add_router,
    create_configuration_group,
    delete_configuration_group,
    remove_router,
    rename_configuration_group,
)
from resolvers.remote.configuration_groups.types import ConfigurationGroup
from resolvers.remote.errors import RemoteError
from resolvers.remote.routers.types import Router
from resolvers.remote.scope import MAX_TEXT, router_visible


@strawberry.input(description="A new configuration group.")
class ConfigurationGroupCreateInput:
    name: str = strawberry.field(description="Name, unique within the organisation (at most 200 characters).")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its organisation (of your subtree); default yours."
    )


@strawberry.input(description="Rename a configuration group.")
class ConfigurationGroupUpdateInput:
    id: strawberry.ID = strawberry.field(description="The group.")
    name: str = strawberry.field(description="New name, unique within the organisation.")


@strawberry.input(description="A configuration group to delete (its routers are freed).")
class ConfigurationGroupDeleteInput:
    id: strawberry.ID = strawberry.field(description="The group.")


@strawberry.input(description="A router to add to or remove from a configuration group.")
class ConfigurationGroupRouterInput:
    configuration_group_id: strawberry.ID = strawberry.field(description="The group.")
    router_id: strawberry.ID = strawberry.field(description="A router of the group's organisation.")


@strawberry.type(description="The configuration group, or why the change was refused.")
class ConfigurationGroupPayload:
    configuration_group: ConfigurationGroup | None = strawberry.field(description="The group; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted group's ID, or why it was refused.")
class ConfigurationGroupDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted group; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="Narrow the configuration group list; all given conditions must hold.")
class ConfigurationGroupFilter:
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only groups of this organisation."
    )
    name_contains: str | None = strawberry.field(default=None, description="Name contains this text (any case).")


def group_payload(result) -> ConfigurationGroupPayload:
    return ConfigurationGroupPayload(configuration_group=ConfigurationGroup.from_model(result), errors=[])


@strawberry.type
class ConfigurationGroupQuery:
    @strawberry.field(
        description="Configuration groups of your organisation's subtree, by name.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def configuration_groups(
        self,
        info: Info,
        filter: Annotated[
            ConfigurationGroupFilter | None, strawberry.argument(description="Conditions the groups must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[ConfigurationGroup]:
        statement = select(r.ConfigurationGroup).where(configuration_group_visible(info.context.principal))
        if filter is not None and filter.organisation_id is not None:
            pk = decode_id(filter.organisation_id, "Organisation")
            if pk is None:
                raise BadUserInput("Not an organisation ID.", argument="filter.organisationId")
            statement = statement.where(r.ConfigurationGroup.organisation_id == pk)
        if filter is not None and filter.name_contains:
            text = filter_text(filter.name_contains, "filter.nameContains", MAX_TEXT)
            statement = statement.where(r.ConfigurationGroup.name.icontains(text, autoescape=True))
        return await paginate(
            info.context,
            statement,
            [SortKey(r.ConfigurationGroup.name), SortKey(r.ConfigurationGroup.id)],
            ConfigurationGroup.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, ConfigurationGroup),
        )

    @strawberry.field(
        description="The routers of a configuration group, by common name (empty for a group you do not see).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def configuration_group_routers(
        self,
        info: Info,
        configuration_group_id: Annotated[strawberry.ID, strawberry.argument(description="The group.")],
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Router]:
        pk = decode_id(configuration_group_id, "ConfigurationGroup")
        if pk is None:
            raise BadUserInput("Not a configuration group ID.", argument="configurationGroupId")
        principal = info.context.principal
        seen = select(r.ConfigurationGroup.id).where(
            r.ConfigurationGroup.id == pk, configuration_group_visible(principal)
        )
        statement = select(r.Router).where(r.Router.configuration_group_id.in_(seen), router_visible(principal))
        return await paginate(
            info.context,
            statement,
            [SortKey(r.Router.common_name), SortKey(r.Router.id)],
            Router.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, Router),
        )


@strawberry.type
class ConfigurationGroupMutation:
    @strawberry.mutation(
        description="Create a configuration group.", permission_classes=[needs(Permission.LOCATIONS_MANAGE)]
    )
    async def configuration_group_create(
        self, info: Info, input: ConfigurationGroupCreateInput
    ) -> ConfigurationGroupPayload:
        return await mutate(
            info.context,
            ConfigurationGroupPayload,
            lambda s: create_configuration_group(
                s, info.context, name=input.name, organisation_id=input.organisation_id
            ),
            group_payload,
        )

    @strawberry.mutation(
        description="Rename a configuration group.", permission_classes=[needs(Permission.LOCATIONS_MANAGE)]
    )
    async def configuration_group_update(
        self, info: Info, input: ConfigurationGroupUpdateInput
    ) -> ConfigurationGroupPayload:
        return await mutate(
            info.context,
            ConfigurationGroupPayload,
            lambda s: rename_configuration_group(s, info.context, input.id, input.name),
            group_payload,
        )

    @strawberry.mutation(
        description="Delete a configuration group; its routers are in no group afterwards.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def configuration_group_delete(
        self, info: Info, input: ConfigurationGroupDeleteInput
    ) -> ConfigurationGroupDeletePayload:
        return await mutate(
            info.context,
            ConfigurationGroupDeletePayload,
            lambda s: delete_configuration_group(s, info.context, input.id),
            lambda result: ConfigurationGroupDeletePayload(deleted_id=input.id, errors=[]),
        )

    @strawberry.mutation(
        description=(
            "Add a router of the group's organisation to a configuration group. A router is in at most one group: "
            "one in another group is refused (ROUTER_IN_OTHER_GROUP); one in this group already stays."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def configuration_group_add_router(
        self, info: Info, input: ConfigurationGroupRouterInput
    ) -> ConfigurationGroupPayload:
        return await mutate(
            info.context,
            ConfigurationGroupPayload,
            lambda s: add_router(s, info.context, input.configuration_group_id, input.router_id),
            group_payload,
        )

    @strawberry.mutation(
        description="Take a router out of a configuration group (ROUTER_NOT_IN_GROUP when it is not in it).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def configuration_group_remove_router(
        self, info: Info, input: ConfigurationGroupRouterInput
    ) -> ConfigurationGroupPayload:
        return await mutate(
            info.context,
            ConfigurationGroupPayload,
            lambda s: remove_router(s, info.context, input.configuration_group_id, input.router_id),
            group_payload,
        )


NODE_RESOLVERS = {
    "ConfigurationGroup": (
        Permission.LOCATIONS_MANAGE,
        node_loader(visible_configuration_groups, ConfigurationGroup.from_model),
    ),
}
