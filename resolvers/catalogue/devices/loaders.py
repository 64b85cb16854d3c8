"""DataLoader batch functions of devices (one SQL statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import load_only

from graph.loaders import group_by, related_rows, rows_by_id
from models import catalogue as c
from resolvers.catalogue.scope import device_visible

visible_devices = rows_by_id(c.Device, device_visible)
#: A device's labels (the strings), alphabetically.
labels_by_device = related_rows(c.DeviceLabel.label, c.DeviceLabel.device_id, order_by=(c.DeviceLabel.label,))

#: What keys_by_device reads of a key: its metadata, never the sealed value.
_KEY_METADATA = load_only(
    c.DeviceKey.id,
    c.DeviceKey.device_id,
    c.DeviceKey.kind,
    c.DeviceKey.algorithm,
    c.DeviceKey.state,
    c.DeviceKey.valid_from,
    c.DeviceKey.valid_until,
    c.DeviceKey.created_at,
)


async def keys_by_device(context: Any, device_ids: Sequence[int]) -> list[list[c.DeviceKey]]:
    """Key rows per device, for their metadata only: the sealed value is never loaded here."""
    statement = (
        select(c.DeviceKey)
        .options(_KEY_METADATA)
        .where(c.DeviceKey.device_id.in_(device_ids))
        .order_by(c.DeviceKey.kind, c.DeviceKey.id)
    )
    async with context.session() as session:
        rows = (await session.scalars(statement)).all()
    return group_by([(row.device_id, row) for row in rows], device_ids)
