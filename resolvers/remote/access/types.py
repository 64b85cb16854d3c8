"""GraphQL types of location access: location groups (a named set of locations and the users given all
of them), effective access (who reaches a location and why), and the access fields of Location.

What a caller reads of the grants: managers of the location's (or group's) organisation (LOCATIONS_MANAGE
over its subtree, platform admins) read all of them; anybody else only their own part (themselves among
the users, the location groups they are in, no user groups, their own effective access entry).
"""

from __future__ import annotations

import enum

import strawberry
from strawberry.types import Info

from resolvers.identity.groups.types import UserGroup
from resolvers.identity.users.types import User
from resolvers.remote.access.loaders import (
    direct_users_by_location,
    effective_access_by_location,
    group_ids_by_member,
    location_groups,
    location_groups_by_location,
    reasons_by_user_location,
    user_groups,
    user_groups_by_location,
)
from resolvers.remote.groups.types import LocationGroup
from resolvers.remote.locations.types import Location
from resolvers.remote.scope import manages


@strawberry.enum(description="Why a user may reach a location.")
class AccessReason(enum.Enum):
    DIRECT = strawberry.enum_value("DIRECT", description="Given the location directly.")
    USER_GROUP = strawberry.enum_value("USER_GROUP", description="Member of a user group given the location.")
    LOCATION_GROUP = strawberry.enum_value("LOCATION_GROUP", description="User of a location group the location is in.")
    EXTERNAL = strawberry.enum_value(
        "EXTERNAL", description="An external user of the location's organisation (reaches it only through a grant)."
    )
    MANAGER = strawberry.enum_value(
        "MANAGER", description="Holds LOCATIONS_MANAGE over the location's organisation subtree (needs no grant)."
    )


def _reasons(rows) -> tuple[list[AccessReason], list[int], list[int]]:
    """(reason, user_group_id, location_group_id) rows -> reasons (in enum order), user group ids, "
    "location group ids."""
    reasons = {AccessReason(row[0]) for row in rows}
    return (
        [reason for reason in AccessReason if reason in reasons],
        sorted({row[1] for row in rows if row[1] is not None}),
        sorted({row[2] for row in rows if row[2] is not None}),
    )


async def _user_groups(info: Info, pks: list[int]) -> list[UserGroup]:
    rows = await info.context.loaders(user_groups).load_many(pks)
    return sorted((UserGroup.from_model(row) for row in rows if row), key=lambda group: (group.name, group.pk))


async def _location_groups(info: Info, pks: list[int]) -> list[LocationGroup]:
    rows = await info.context.loaders(location_groups).load_many(pks)
    return sorted((LocationGroup.from_model(row) for row in rows if row), key=lambda group: (group.name, group.pk))


@strawberry.type(description="A user who may reach a location, and every reason why.")
class EffectiveAccess:
    user: User = strawberry.field(
        description="The user (of the organisation, or an external user: name and e-mail only)."
    )
    via: list[AccessReason] = strawberry.field(description="Every way they were given the location.")
    user_group_pks: strawberry.Private[list[int]]
    location_group_pks: strawberry.Private[list[int]]

    @strawberry.field(description="The user groups that give it (reason USER_GROUP), by name.")
    async def user_groups(self, info: Info) -> list[UserGroup]:
        return await _user_groups(info, self.user_group_pks)

    @strawberry.field(description="The location groups that give it (reason LOCATION_GROUP), by name.")
    async def location_groups(self, info: Info) -> list[LocationGroup]:
        return await _location_groups(info, self.location_group_pks)


@strawberry.type(description="A location a user may reach, and every reason why.")
class LocationAccess:
    location: Location = strawberry.field(description="The location.")
    user_pk: strawberry.Private[int]

    async def _rows(self, info: Info):
        return _reasons(await info.context.loaders(reasons_by_user_location).load((self.user_pk, self.location.pk)))

    @strawberry.field(description="Every way the user was given the location.")
    async def via(self, info: Info) -> list[AccessReason]:
        return (await self._rows(info))[0]

    @strawberry.field(description="The user groups that give it (reason USER_GROUP), by name.")
    async def user_groups(self, info: Info) -> list[UserGroup]:
        return await _user_groups(info, (await self._rows(info))[1])

    @strawberry.field(description="The location groups that give it (reason LOCATION_GROUP), by name.")
    async def location_groups(self, info: Info) -> list[LocationGroup]:
        return await _location_groups(info, (await self._rows(info))[2])


async def location_users(location: Location, info: Info) -> list[User]:
    rows = await info.context.loaders(direct_users_by_location).load(location.pk)
    if not await manages(info, location.organisation_pk):
        rows = [(user, path) for user, path in rows if user.id == info.context.principal.user_id]
    return [User.seen_by(info.context.principal, user, path) for user, path in rows]


async def location_user_groups(location: Location, info: Info) -> list[UserGroup]:
    rows = await info.context.loaders(user_groups_by_location).load(location.pk)
    # the members of a group are not the caller's business unless they manage the location
    return [UserGroup.from_model(row) for row in rows] if await manages(info, location.organisation_pk) else []


async def location_groups_of(location: Location, info: Info) -> list[LocationGroup]:
    rows = await info.context.loaders(location_groups_by_location).load(location.pk)
    if not await manages(info, location.organisation_pk):
        mine = await info.context.loaders(group_ids_by_member).load(info.context.principal.user_id)
        rows = [row for row in rows if row.id in mine]
    return [LocationGroup.from_model(row) for row in rows]


async def location_effective_access(location: Location, info: Info) -> list[EffectiveAccess]:
    rows = await info.context.loaders(effective_access_by_location).load(location.pk)
    if not await manages(info, location.organisation_pk):
        rows = [row for row in rows if row[0].id == info.context.principal.user_id]
    by_user: dict[int, tuple] = {}
    for user, path, *reason in rows:  # rows come by user name: the entries keep that order
        by_user.setdefault(user.id, (user, path, []))[2].append(reason)
    entries = []
    for user, path, reasons in by_user.values():
        via, group_pks, location_group_pks = _reasons(reasons)
        entries.append(
            EffectiveAccess(
                user=User.seen_by(info.context.principal, user, path),
                via=via,
                user_group_pks=group_pks,
                location_group_pks=location_group_pks,
            )
        )
    return entries
