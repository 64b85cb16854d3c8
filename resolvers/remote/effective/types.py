"""GraphQL type of one entry of effectiveAccess: a user who reaches a location, and every reason why."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.identity import loaders as identity_loaders
from resolvers.identity.groups.types import UserGroup
from resolvers.identity.users.types import User
from resolvers.remote.access.loaders import location_groups, user_groups
from resolvers.remote.access.types import AccessReason
from resolvers.remote.effective.loaders import reasons_by_location_user
from resolvers.remote.groups.types import LocationGroup


@strawberry.type(description="Someone who reaches a location (granted, external or managing it), and every reason.")
class LocationAccessor:
    location_pk: strawberry.Private[int]
    #: The user's row as the page read it (graph.relay.paginate's record).
    row: strawberry.Private[Any]

    async def _reasons(self, info: Info) -> list[tuple]:
        return await info.context.loaders(reasons_by_location_user).load((self.location_pk, self.row.id))

    @strawberry.field(description="The user (of another organisation, e.g. an external user: name and e-mail only).")
    async def user(self, info: Info) -> User:
        organisation = await info.context.loaders(identity_loaders.organisations).load(self.row.organisation_id)
        return User.seen_by(info.context.principal, self.row, organisation.path if organisation else "")

    @strawberry.field(description="Every reason, in this order: DIRECT, USER_GROUP, LOCATION_GROUP, EXTERNAL, MANAGER.")
    async def via(self, info: Info) -> list[AccessReason]:
        found = {AccessReason(row[0]) for row in await self._reasons(info)}
        return [reason for reason in AccessReason if reason in found]

    @strawberry.field(description="The user groups that give it (reason USER_GROUP), by name.")
    async def user_groups(self, info: Info) -> list[UserGroup]:
        pks = sorted({row[1] for row in await self._reasons(info) if row[1] is not None})
        rows = await info.context.loaders(user_groups).load_many(pks)
        return sorted((UserGroup.from_model(row) for row in rows if row), key=lambda group: (group.name, group.pk))

    @strawberry.field(description="The location groups that give it (reason LOCATION_GROUP), by name.")
    async def location_groups(self, info: Info) -> list[LocationGroup]:
        pks = sorted({row[2] for row in await self._reasons(info) if row[2] is not None})
        rows = await info.context.loaders(location_groups).load_many(pks)
        return sorted((LocationGroup.from_model(row) for row in rows if row), key=lambda group: (group.name, group.pk))
