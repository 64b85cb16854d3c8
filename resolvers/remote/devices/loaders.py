"""DataLoader batch functions of location devices."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from graph.loaders import by_key, group_by
from models import remote as r
from resolvers.remote.scope import location_visible


async def devices_by_location(context, location_ids: Sequence[int]) -> list[list[r.LocationDevice]]:
    """The devices of locations already checked for visibility, by name."""
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.LocationDevice)
                .where(r.LocationDevice.location_id.in_(location_ids))
                .order_by(r.LocationDevice.name, r.LocationDevice.id)
            )
        ).all()
    return group_by([(row.location_id, row) for row in rows], location_ids)


async def device_services(context, device_ids: Sequence[int]) -> list[list[r.LocationDeviceService]]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.LocationDeviceService)
                .where(r.LocationDeviceService.device_id.in_(device_ids))
                .order_by(r.LocationDeviceService.id)
            )
        ).all()
    return group_by([(row.device_id, row) for row in rows], device_ids)


async def visible_devices(context, ids: Sequence[int]) -> list[r.LocationDevice | None]:
    """Devices at locations the caller sees."""
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.LocationDevice)
                .join(r.Location, r.Location.id == r.LocationDevice.location_id)
                .where(r.LocationDevice.id.in_(ids), location_visible(context.principal))
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)
