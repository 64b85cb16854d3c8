"""DataLoader batch functions of locations (one SQL statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from graph.loaders import rows_by_id
from models import remote as r
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
