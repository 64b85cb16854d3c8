"""GraphQL types of location access: location groups (a named set of locations and the users given all
of them), effective access (who reaches a location and why), and the access fields of Location.

What a caller reads of the grants: managers of the location's (or group's) organisation (LOCATIONS_MANAGE
over its subtree, platform admins) read all of them; anybody else only their own part (themselves among
the users, the location groups they are in, no user groups, their own effective access entry).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

import strawberry
from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement
from strawberry.types import Info

from graph.loaders import by_key
from graph.relay import Node, node_loader, to_global_id
from graph.tenancy import path_visible, visible_organisation_ids
from models import remote as r
from models.identity import Permission
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.groups.types import UserGroup
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.types import User
from resolvers.remote import access_loaders
from resolvers.remote.scope import sees_whole_subtree
from resolvers.remote.types import Location


def location_group_visible(principal) -> ColumnElement[bool]:
    """Managers see the groups of their subtree; everybody else the groups they are in."""
    if principal.is_platform_admin:
        return r.LocationGroup.id.is_not(None)
    if sees_whole_subtree(principal):
        return r.LocationGroup.organisation_id.in_(visible_organisation_ids(principal))
    return r.LocationGroup.id.in_(
        select(r.LocationGroupUser.group_id).where(r.LocationGroupUser.user_id == principal.user_id)
    )


async def visible_location_groups(context, ids: Sequence[int]) -> list[r.LocationGroup | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.LocationGroup).where(r.LocationGroup.id.in_(ids), location_group_visible(context.principal))
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


@strawberry.type(description="A named set of locations of one organisation; its users may reach every location in it.")
class LocationGroup(Node):
    name: str = strawberry.field(description="Name (unique within its organisation).")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: r.LocationGroup) -> LocationGroup:
        return cls(
            id=strawberry.ID(to_global_id("LocationGroup", row.id)),
            name=row.name,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(
        description="The organisation it belongs to; null when not in your subtree (an external user's view)."
    )
    async def organisation(self, info: Info) -> Organisation | None:
        row = await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row) if row and path_visible(info.context.principal, row.path) else None

    @strawberry.field(description="Its locations, by name.")
    async def locations(self, info: Info) -> list[Location]:
        rows = await info.context.loaders(access_loaders.locations_by_group).load(self.pk)
        return [Location.from_model(row) for row in rows]

    @strawberry.field(description="Its users, by name (who is not a manager of its organisation sees only themselves).")
    async def users(self, info: Info) -> list[User]:
        rows = await info.context.loaders(access_loaders.users_by_group).load(self.pk)
        if not await manages(info, self.organisation_pk):
            rows = [(user, path) for user, path in rows if user.id == info.context.principal.user_id]
        return [User.seen_by(info.context.principal, user, path) for user, path in rows]


async def manages(info: Info, organisation_pk: int) -> bool:
    """Whether the caller manages locations of this organisation (reads all of their grants)."""
    principal = info.context.principal
    if principal.is_platform_admin:
        return True
    if not sees_whole_subtree(principal):
        return False
    row = await info.context.loaders(identity_loaders.organisations).load(organisation_pk)
    return row is not None and path_visible(principal, row.path)


@strawberry.enum(description="Why a user may reach a location.")
class AccessReason(enum.Enum):
    DIRECT = strawberry.enum_value("DIRECT", description="Given the location directly.")
    USER_GROUP = strawberry.enum_value("USER_GROUP", description="Member of a user group given the location.")
    LOCATION_GROUP = strawberry.enum_value("LOCATION_GROUP", description="User of a location group the location is in.")


def _reasons(rows) -> tuple[list[AccessReason], list[int], list[int]]:
    """(reason, user_group_id, location_group_id) rows -> reasons (in enum order), user group ids, location group ids."""
    reasons = {AccessReason(row[0]) for row in rows}
    return (
        [reason for reason in AccessReason if reason in reasons],
        sorted({row[1] for row in rows if row[1] is not None}),
        sorted({row[2] for row in rows if row[2] is not None}),
    )


async def _user_groups(info: Info, pks: list[int]) -> list[UserGroup]:
    rows = await info.context.loaders(access_loaders.user_groups).load_many(pks)
    return sorted((UserGroup.from_model(row) for row in rows if row), key=lambda group: (group.name, group.pk))


async def _location_groups(info: Info, pks: list[int]) -> list[LocationGroup]:
    rows = await info.context.loaders(access_loaders.location_groups).load_many(pks)
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
        return _reasons(
            await info.context.loaders(access_loaders.reasons_by_user_location).load((self.user_pk, self.location.pk))
        )

    @strawberry.field(description="Every way the user was given the location.")
    async def via(self, info: Info) -> list[AccessReason]:
        return (await self._rows(info))[0]

    @strawberry.field(description="The user groups that give it (reason USER_GROUP), by name.")
    async def user_groups(self, info: Info) -> list[UserGroup]:
        return await _user_groups(info, (await self._rows(info))[1])

    @strawberry.field(description="The location groups that give it (reason LOCATION_GROUP), by name.")
    async def location_groups(self, info: Info) -> list[LocationGroup]:
        return await _location_groups(info, (await self._rows(info))[2])


# --- the access fields of Location (types.Location delegates here) ---------------------------------------


async def location_users(location: Location, info: Info) -> list[User]:
    rows = await info.context.loaders(access_loaders.direct_users_by_location).load(location.pk)
    if not await manages(info, location.organisation_pk):
        rows = [(user, path) for user, path in rows if user.id == info.context.principal.user_id]
    return [User.seen_by(info.context.principal, user, path) for user, path in rows]


async def location_user_groups(location: Location, info: Info) -> list[UserGroup]:
    rows = await info.context.loaders(access_loaders.user_groups_by_location).load(location.pk)
    # the members of a group are not the caller's business unless they manage the location
    return [UserGroup.from_model(row) for row in rows] if await manages(info, location.organisation_pk) else []


async def location_groups_of(location: Location, info: Info) -> list[LocationGroup]:
    rows = await info.context.loaders(access_loaders.location_groups_by_location).load(location.pk)
    if not await manages(info, location.organisation_pk):
        mine = await info.context.loaders(access_loaders.group_ids_by_member).load(info.context.principal.user_id)
        rows = [row for row in rows if row.id in mine]
    return [LocationGroup.from_model(row) for row in rows]


async def location_effective_access(location: Location, info: Info) -> list[EffectiveAccess]:
    rows = await info.context.loaders(access_loaders.effective_access_by_location).load(location.pk)
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


NODE_RESOLVERS = {
    "LocationGroup": (Permission.LOCATIONS_READ, node_loader(visible_location_groups, LocationGroup.from_model)),
}
