"""DataLoader batch functions of key downloads (one SQL statement per loader batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select

from graph.context import Principal
from graph.loaders import rows_by_id
from graph.relay import SortKey, parent_pages
from models import catalogue as c
from resolvers.catalogue.scope import device_visible, key_download_visible

visible_key_downloads = rows_by_id(c.KeyDownload, key_download_visible)

#: The order of a download's devices: by serial number.
DEVICE_ORDER = (SortKey(c.Device.serial_number), SortKey(c.Device.id))


async def device_counts(context: Any, ids: Sequence[int]) -> list[int]:
    """How many of each download's devices the caller still sees (the `totalCount` of KeyDownload.devices)."""
    KDD = c.KeyDownloadDevice
    statement = (
        select(KDD.key_download_id, func.count())
        .join(c.Device, c.Device.id == KDD.device_id)
        .where(KDD.key_download_id.in_(ids), device_visible(context.principal))
        .group_by(KDD.key_download_id)
    )
    async with context.session() as session:
        counts = {pk: count for pk, count in (await session.execute(statement)).all()}
    return [counts.get(pk, 0) for pk in ids]


def _download_devices(principal: Principal) -> Select[Any]:
    """Devices of downloads that the caller still sees (a device given away since is not listed)."""
    return (
        select(c.Device)
        .join(c.KeyDownloadDevice, c.KeyDownloadDevice.device_id == c.Device.id)
        .where(device_visible(principal))
    )


device_pages = parent_pages(c.Device, c.KeyDownloadDevice.key_download_id, DEVICE_ORDER, _download_devices)
