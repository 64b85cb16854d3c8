"""DataLoader batch functions of location groups."""

from __future__ import annotations

from collections.abc import Sequence

from graph.loaders import rows_by_id
from models import identity as m
from models import remote as r
from resolvers.remote.access.loaders import linked_rows, related_users
from resolvers.remote.scope import location_group_visible

visible_location_groups = rows_by_id(r.LocationGroup, location_group_visible)


async def locations_by_group(context, group_ids: Sequence[int]) -> list[list[r.Location]]:
    return await linked_rows(
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
