"""Batch functions of metering points: one statement per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from graph.loaders import by_key, rows_by_id
from models import catalogue as c
from models import metering as mt
from resolvers.metering.scope import metering_point_visible

visible_points = rows_by_id(mt.MeteringPoint, metering_point_visible)
#: Addresses are directory data, not a tenant's: they are reached through a visible point.
addresses = rows_by_id(mt.Address)


async def meters(context: Any, device_ids: Sequence[int]) -> list[Any]:
    """Each meter's serial number, manufacturer, model and radio (reached through a visible point)."""
    D, T = c.Device, c.ProductType
    statement = (
        select(D.id, D.serial_number, D.manufacturer, T.name.label("model"), T.radio_technology)
        .join(T, T.id == D.product_type_id)
        .where(D.id.in_(device_ids))
    )
    async with context.session() as session:
        rows = (await session.execute(statement)).all()
    return by_key(rows, device_ids, lambda row: row.id)
