"""DataLoader batch functions of location groups."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from graph.loaders import by_key
from models import identity as m
from models import remote as r
from resolvers.remote.access.loaders import related_rows, related_users
from resolvers.remote.scope import location_group_visible


async def visible_location_groups(context, ids: Sequence[int]) -> list[r.LocationGroup | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.LocationGroup).where(r.LocationGroup.id.in_(ids), location_group_visible(context.principal))
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


async def locations_by_group(context, group_ids: Sequence[int]) -> list[list[r.Location]]:
    return await related_rows(
        context,
        r.LocationGroupLocation.group_id,
        r.Location,
        r.Location.id == r.LocationGroupLocation.location_id,
        group_ids,
        r.Location.name,
        r.Location.id,
    )


async def users_by_group(context, group_ids: Sequence[int]) -> list[list[tuple[m.User, str]]]:
    return await related_users(
        context, r.LocationGroupUser.group_id, m.User.id == r.LocationGroupUser.user_id, group_ids
    )
