"""DataLoader batch functions of locations (one SQL statement per batch)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import select

from graph.loaders import by_key, rows_by_id
from models import remote as r
from models.identity import Organisation
from resolvers.remote.scope import location_visible

visible_locations = rows_by_id(r.Location, location_visible)


#: The location a router is at (same organisation as the router, so visible with it).
locations_by_router = rows_by_id(r.Location, key=r.Location.router_id)


async def pinned_by_caller(context, location_ids: Sequence[int]) -> list[bool]:
    async with context.session() as session:
        pinned = set(
            (
                await session.scalars(
                    select(r.LocationPin.location_id).where(
                        r.LocationPin.user_id == context.principal.user_id, r.LocationPin.location_id.in_(location_ids)
                    )
                )
            ).all()
        )
    return [pk in pinned for pk in location_ids]


# Unscoped batch functions for the live stream's shared loaders (graph.loaders.SharedLoaders): each subscriber
# checks its rights on the rows with resolvers.remote.scope.sees.


def _with_paths(key: Any) -> Callable[[Any, Sequence[int]], Awaitable[list[tuple[r.Location, str] | None]]]:
    async def load(context: Any, keys: Sequence[int]) -> list[tuple[r.Location, str] | None]:
        statement = (
            select(r.Location, Organisation.path)
            .join(Organisation, Organisation.id == r.Location.organisation_id)
            .where(key.in_(keys))
        )
        async with context.session() as session:
            rows = [tuple(row) for row in (await session.execute(statement)).all()]
        return by_key(rows, keys, lambda row: getattr(row[0], key.key))

    return load


#: Each location with its organisation's path, by location id.
locations_with_paths = _with_paths(r.Location.id)
#: The location each router is at, with its organisation's path, by router id.
router_locations_with_paths = _with_paths(r.Location.router_id)
