"""DataLoader batch functions of location access (one SQL statement per batch).

All of them are unscoped: they answer relations of objects the caller was already allowed to see,
and the resolvers (resolvers.remote.access.types) decide what of the answer a caller may read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CompoundSelect, Integer, Select, cast, literal_column, null, select, union_all

from graph.loaders import group_by, rows_by_id
from models import identity as m
from models import remote as r


def grants(
    *, location_ids: Sequence[int] | None = None, user_ids: Sequence[int] | None = None
) -> CompoundSelect[*tuple[Any, ...]]:
    """Every way a user reaches a location, one row per reason: (location_id, user_id, reason,
    user_group_id, location_group_id). The same three ways as scope.reachable_location_ids."""
    no_id = cast(null(), Integer)
    direct: Select[*tuple[Any, ...]] = select(
        r.LocationUserAccess.location_id.label("location_id"),
        r.LocationUserAccess.user_id.label("user_id"),
        literal_column("'DIRECT'").label("reason"),
        no_id.label("user_group_id"),
        no_id.label("location_group_id"),
    )
    by_user_group: Select[*tuple[Any, ...]] = select(
        r.LocationUserGroupAccess.location_id,
        m.UserGroupMember.user_id,
        literal_column("'USER_GROUP'"),
        r.LocationUserGroupAccess.user_group_id,
        no_id,
    ).join(m.UserGroupMember, m.UserGroupMember.group_id == r.LocationUserGroupAccess.user_group_id)
    by_location_group: Select[*tuple[Any, ...]] = select(
        r.LocationGroupLocation.location_id,
        r.LocationGroupUser.user_id,
        literal_column("'LOCATION_GROUP'"),
        no_id,
        r.LocationGroupLocation.group_id,
    ).join(r.LocationGroupUser, r.LocationGroupUser.group_id == r.LocationGroupLocation.group_id)
    if location_ids is not None:
        direct = direct.where(r.LocationUserAccess.location_id.in_(location_ids))
        by_user_group = by_user_group.where(r.LocationUserGroupAccess.location_id.in_(location_ids))
        by_location_group = by_location_group.where(r.LocationGroupLocation.location_id.in_(location_ids))
    if user_ids is not None:
        direct = direct.where(r.LocationUserAccess.user_id.in_(user_ids))
        by_user_group = by_user_group.where(m.UserGroupMember.user_id.in_(user_ids))
        by_location_group = by_location_group.where(r.LocationGroupUser.user_id.in_(user_ids))
    return union_all(direct, by_user_group, by_location_group)


async def reachable_by_user(context, user_ids: Sequence[int]) -> list[frozenset[int]]:
    """The ids of the locations granted to each user, by any of the three ways: unscoped, for the live stream's
    shared loaders (graph.loaders.SharedLoaders), which check each subscriber with resolvers.remote.scope.sees."""
    granted = grants(user_ids=user_ids).subquery()
    async with context.session() as session:
        rows = [tuple(row) for row in (await session.execute(select(granted.c.user_id, granted.c.location_id))).all()]
    return [frozenset(ids) for ids in group_by(rows, user_ids)]


async def linked_rows(context, key, entity, on, keys: Sequence[int], *order) -> list[list]:
    """For each key: the `entity` rows joined `on` the link table whose `key` column it is, in `order`
    (graph.loaders.related_rows is the same without a link table)."""
    async with context.session() as session:
        rows = (await session.execute(select(key, entity).join(entity, on).where(key.in_(keys)).order_by(*order))).all()
    return group_by(rows, keys)


async def related_users(context, key, on, keys: Sequence[int]) -> list[list[tuple[m.User, str]]]:
    """For each key: (user, their organisation's path) joined `on` the link table whose `key` column it is, by
    name. The path tells the resolver whether the user is outside the caller's organisations (User.seen_by)."""
    async with context.session() as session:
        rows = (
            await session.execute(
                select(key, m.User, m.Organisation.path)
                .join(m.User, on)
                .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
                .where(key.in_(keys))
                .order_by(m.User.name, m.User.id)
            )
        ).all()
    return group_by([(row[0], (row[1], row[2])) for row in rows], keys)


async def direct_users_by_location(context, location_ids: Sequence[int]) -> list[list[tuple[m.User, str]]]:
    return await related_users(
        context, r.LocationUserAccess.location_id, m.User.id == r.LocationUserAccess.user_id, location_ids
    )


async def user_groups_by_location(context, location_ids: Sequence[int]) -> list[list[m.UserGroup]]:
    return await linked_rows(
        context,
        r.LocationUserGroupAccess.location_id,
        m.UserGroup,
        m.UserGroup.id == r.LocationUserGroupAccess.user_group_id,
        location_ids,
        m.UserGroup.name,
        m.UserGroup.id,
    )


async def location_groups_by_location(context, location_ids: Sequence[int]) -> list[list[r.LocationGroup]]:
    return await linked_rows(
        context,
        r.LocationGroupLocation.location_id,
        r.LocationGroup,
        r.LocationGroup.id == r.LocationGroupLocation.group_id,
        location_ids,
        r.LocationGroup.name,
        r.LocationGroup.id,
    )


async def group_ids_by_member(context, user_ids: Sequence[int]) -> list[set[int]]:
    """The location groups a user is in (to show a non-manager only their own groups)."""
    async with context.session() as session:
        rows = (
            await session.execute(
                select(r.LocationGroupUser.user_id, r.LocationGroupUser.group_id).where(
                    r.LocationGroupUser.user_id.in_(user_ids)
                )
            )
        ).all()
    return [set(ids) for ids in group_by(rows, user_ids)]


location_groups = rows_by_id(r.LocationGroup)


user_groups = rows_by_id(m.UserGroup)


users = rows_by_id(m.User)


async def effective_access_by_location(context, location_ids: Sequence[int]) -> list[list[tuple]]:
    """Per location: (user, organisation path, reason, user_group_id, location_group_id) rows, by user name."""
    granted = grants(location_ids=location_ids).subquery()
    async with context.session() as session:
        rows = (
            await session.execute(
                select(
                    granted.c.location_id,
                    m.User,
                    m.Organisation.path,
                    granted.c.reason,
                    granted.c.user_group_id,
                    granted.c.location_group_id,
                )
                .join(m.User, m.User.id == granted.c.user_id)
                .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
                .order_by(m.User.name, m.User.id)
            )
        ).all()
    return group_by([(row[0], tuple(row[1:])) for row in rows], location_ids)


async def reasons_by_user_location(context, keys: Sequence[tuple[int, int]]) -> list[list[tuple]]:
    """Per (user_id, location_id): (reason, user_group_id, location_group_id) rows."""
    granted = grants(location_ids=sorted({k[1] for k in keys}), user_ids=sorted({k[0] for k in keys})).subquery()
    async with context.session() as session:
        rows = (await session.execute(select(granted))).all()
    wanted = set(keys)
    return group_by(
        [
            ((row.user_id, row.location_id), (row.reason, row.user_group_id, row.location_group_id))
            for row in rows
            if (row.user_id, row.location_id) in wanted
        ],
        keys,
    )
