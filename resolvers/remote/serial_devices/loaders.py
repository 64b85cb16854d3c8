"""Batch function of serial devices: those at locations the caller sees."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from graph.loaders import by_key
from models import remote as r
from resolvers.remote.scope import location_visible


async def visible_serial_devices(context, ids: Sequence[int]) -> list[r.LocationSerialDevice | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.LocationSerialDevice)
                .join(r.Location, r.Location.id == r.LocationSerialDevice.location_id)
                .where(r.LocationSerialDevice.id.in_(ids), location_visible(context.principal))
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)
