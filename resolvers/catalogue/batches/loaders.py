"""DataLoader batch functions of batches (one SQL statement per loader batch).

A batch's devices are a connection per batch; so that a list of batches does not run one page
query per batch, the pages of all batches asked for with the same arguments are read in one
statement (graph.relay.parent_pages).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select

from graph.context import Principal
from graph.loaders import rows_by_id
from graph.relay import SortKey, parent_pages
from models import catalogue as c
from resolvers.catalogue.scope import batch_visible, device_visible

#: Batches by id, unscoped: only for the batch of a device already checked for visibility.
batches = rows_by_id(c.Batch)
visible_batches = rows_by_id(c.Batch, batch_visible)

#: The order of a batch's devices: by serial number.
DEVICE_ORDER = (SortKey(c.Device.serial_number), SortKey(c.Device.id))


async def _counts(context: Any, statement: Select[int, int], batch_ids: Sequence[int]) -> list[int]:
    async with context.session() as session:
        counts = {pk: count for pk, count in (await session.execute(statement)).all()}
    return [counts.get(pk, 0) for pk in batch_ids]


async def device_counts(context: Any, batch_ids: Sequence[int]) -> list[int]:
    """How many devices each batch was created with (visible or not: a count names no device)."""
    statement = (
        select(c.BatchDevice.batch_id, func.count())
        .where(c.BatchDevice.batch_id.in_(batch_ids))
        .group_by(c.BatchDevice.batch_id)
    )
    return await _counts(context, statement, batch_ids)


async def visible_device_counts(context: Any, batch_ids: Sequence[int]) -> list[int]:
    """How many of each batch's devices the caller may see (the `totalCount` of Batch.devices)."""
    statement = (
        select(c.BatchDevice.batch_id, func.count())
        .join(c.Device, c.Device.id == c.BatchDevice.device_id)
        .where(c.BatchDevice.batch_id.in_(batch_ids), device_visible(context.principal))
        .group_by(c.BatchDevice.batch_id)
    )
    return await _counts(context, statement, batch_ids)


def _batch_devices(principal: Principal) -> Select[Any]:
    """The devices of batches that the caller sees, with the batch they were created with."""
    return select(c.Device).join(c.BatchDevice, c.BatchDevice.device_id == c.Device.id).where(device_visible(principal))


device_pages = parent_pages(c.Device, c.BatchDevice.batch_id, DEVICE_ORDER, _batch_devices)
