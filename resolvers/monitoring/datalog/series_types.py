"""A datalog variable becomes a telemetry key with its unit and data type: the series of that key at the
location take them, when ingest creates a series (telemetry/rules.series_ids) and when a datalog device is
saved (its location's existing series, or every location with a device made from its template).

Which variable a series takes: the one of a datalog device of the series' own location device (its own or its
template's), else the first one with that key at the location (by location device, then datalog device, so
the choice is stable). A series without a variable keeps what it has; removing a variable or a datalog device
leaves its series' unit as it was (the history was measured in it).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import datalog as dl
from models import remote as r
from models import telemetry as tel
from resolvers.monitoring.datalog.loaders import applying_to_location

#: (location id, location device id or None for any device of the location, key)
VariableKey = tuple[int | None, int | None, str]
#: (unit, data type)
SeriesType = tuple[str, tel.DataType]


class DatalogTypes:
    """The datalog variables of some locations, by the series they describe."""

    def __init__(self, by_key: dict[VariableKey, SeriesType]) -> None:
        self._by_key = by_key

    @property
    def keys(self) -> set[str]:
        return {key for _, _, key in self._by_key}

    def of(self, location_id: int | None, device_id: int | None, key: str) -> SeriesType | None:
        own = self._by_key.get((location_id, device_id, key)) if device_id is not None else None
        return own or self._by_key.get((location_id, None, key))


async def datalog_types(session: AsyncSession, location_ids: Any) -> DatalogTypes:
    """One statement for any number of locations; `location_ids` is a collection or a subquery of ids."""
    rows = await session.execute(
        applying_to_location(r.LocationDevice.location_id.in_(location_ids))
        .add_columns(r.LocationDevice.id)
        .order_by(r.LocationDevice.id, dl.DatalogDevice.id)
    )
    by_key: dict[VariableKey, SeriesType] = {}
    for location_id, device, location_device_id in rows:
        for variable in device.variables:
            found = (variable["unit"], tel.DataType(variable["dataType"]))
            by_key.setdefault((location_id, location_device_id, variable["key"]), found)
            by_key.setdefault((location_id, None, variable["key"]), found)
    return DatalogTypes(by_key)


async def apply_to_series(session: AsyncSession, location_ids: Any) -> None:
    """Existing series of these locations take their datalog variables' unit and data type: three statements
    at most (variables, series, one executemany UPDATE of those that differ)."""
    types = await datalog_types(session, location_ids)
    if not types.keys:
        return
    series = tel.TelemetrySeries
    rows = await session.execute(
        select(series.id, series.location_id, series.device_id, series.key, series.unit, series.data_type).where(
            series.location_id.in_(location_ids), series.key.in_(types.keys)
        )
    )
    changes = [
        {"series": pk, "new_unit": wanted[0], "new_type": wanted[1]}
        for pk, location_id, device_id, key, unit, data_type in rows
        if (wanted := types.of(location_id, device_id, key)) is not None and wanted != (unit, data_type)
    ]
    if changes:
        statement = (
            update(series)
            .where(series.id == bindparam("series"))
            .values(unit=bindparam("new_unit"), data_type=bindparam("new_type", type_=series.data_type.type))
        )
        connection = await session.connection()
        await connection.execute(statement, changes)


def locations_of(location_id: int | None, template_id: int | None) -> Collection[int] | Any:
    """The locations a datalog device applies at: its location device's, or those of its template's devices."""
    if location_id is not None:
        return [location_id]
    return select(r.LocationDevice.location_id).where(r.LocationDevice.template_id == template_id).distinct()


__all__ = ["DatalogTypes", "apply_to_series", "datalog_types", "locations_of"]
