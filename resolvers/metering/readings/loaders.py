"""Batch functions of meter readings (one statement per batch)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, cast

from graph.loaders import rows_by_id
from models import metering as mt
from resolvers.metering.readings.gateway import token_visible
from resolvers.metering.readings.latest import latest_readings
from resolvers.metering.readings.types import Reading


async def latest_readings_of_meters(context: Any, keys: Sequence[Hashable]) -> list[Reading | None]:
    """The latest reading per meter pk (the metering point's meter: the point was checked to be visible)."""
    async with context.session() as session:
        latest = await latest_readings(session, cast(Sequence[int], keys))
    return [Reading.from_latest(latest[key]) if key in latest else None for key in keys]


visible_gateway_tokens = rows_by_id(mt.MeterGatewayToken, token_visible)
