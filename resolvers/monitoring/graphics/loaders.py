"""Who sees which graphical configurations, and their batch functions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import group_by, rows_by_id
from models import datalog as dl
from models import remote as r
from resolvers.remote.scope import location_visible


def graphic_visible(principal) -> ColumnElement[bool]:
    """Graphics of the locations the caller sees."""
    return dl.Graphic.location_id.in_(select(r.Location.id).where(location_visible(principal)))


visible_graphics = rows_by_id(dl.Graphic, graphic_visible)


async def graphics_by_location(context, location_ids: Sequence[int]) -> list[list[dl.Graphic]]:
    """The graphics of visible locations (the monitored location is visible already), by name."""
    async with context.session() as session:
        rows = (
            await session.execute(
                select(dl.Graphic.location_id, dl.Graphic)
                .where(dl.Graphic.location_id.in_(location_ids))
                .order_by(dl.Graphic.name, dl.Graphic.id)
            )
        ).all()
    return group_by([(row[0], row[1]) for row in rows], location_ids)
