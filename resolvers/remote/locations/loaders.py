"""DataLoader batch functions of locations (one SQL statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from graph.loaders import by_key
from models import remote as r
from resolvers.remote.scope import location_visible


async def visible_locations(context, ids: Sequence[int]) -> list[r.Location | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(select(r.Location).where(r.Location.id.in_(ids), location_visible(context.principal)))
        ).all()
    return by_key(rows, ids, lambda row: row.id)


async def locations_by_router(context, router_ids: Sequence[int]) -> list[r.Location | None]:
    """The location a router is at (same organisation as the router, so visible with it)."""
    async with context.session() as session:
        rows = (await session.scalars(select(r.Location).where(r.Location.router_id.in_(router_ids)))).all()
    return by_key(rows, router_ids, lambda row: row.router_id)


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
