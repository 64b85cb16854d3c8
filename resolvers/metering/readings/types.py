"""GraphQL types of meter readings: a reading, a point's history as arrays, and the meter gateway token."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry

from graph.relay import Node, to_global_id
from resolvers.metering.readings.latest import Reading as LatestValue


@strawberry.enum(description="How a metering point's readings are listed.")
class ReadingAggregation(enum.Enum):
    NONE = strawberry.enum_value("NONE", description="Every reading as the meter sent it.")
    DAY = strawberry.enum_value("DAY", description="The last reading of each day, in the point's time zone.")
    MONTH = strawberry.enum_value("MONTH", description="The last reading of each month, in the point's time zone.")


@strawberry.type(description="A meter's reading: its counter at a time.")
class Reading:
    key: str = strawberry.field(description="What it counts: `volume` (water, gas) or `energy` (heat, electricity).")
    unit: str = strawberry.field(description="The unit: m³ for volume, kWh for energy.")
    at: datetime = strawberry.field(description="When the meter read it.")
    value: float = strawberry.field(description="The counter's value.")

    @classmethod
    def from_latest(cls, reading: LatestValue) -> Reading:
        return cls(key=reading.key, unit=reading.unit, at=reading.at, value=reading.value)


@strawberry.type(description="A metering point's readings, newest first, as two arrays of the same length.")
class MeteringPointReadings:
    metering_point_id: strawberry.ID = strawberry.field(description="The metering point.")
    key: str = strawberry.field(description="The reading's key for the point's resource (`volume` or `energy`).")
    unit: str = strawberry.field(description="Its unit (m³ or kWh).")
    time_zone: str = strawberry.field(description="The point's IANA time zone, in which days and months are cut.")
    aggregation: ReadingAggregation = strawberry.field(description="How the readings are listed.")
    count: int = strawberry.field(description="How many readings there are (the length of `at` and `values`).")
    at: list[datetime] = strawberry.field(description="The readings' times, newest first.")
    values: list[float] = strawberry.field(description="The readings' values, in the order of `at`.")


@strawberry.type(description="An organisation's meter gateway token for POST /meters/readings (shown only once).")
class MeterGatewayToken(Node):
    name: str = strawberry.field(description="What it is for (e.g. the network server that sends with it).")
    organisation_id: strawberry.ID = strawberry.field(description="The organisation whose meters it writes.")
    created_at: datetime = strawberry.field(description="When it was created.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; null while valid.")

    @classmethod
    def from_model(cls, row: Any) -> MeterGatewayToken:
        return cls(
            id=strawberry.ID(to_global_id("MeterGatewayToken", row.id)),
            name=row.name,
            organisation_id=strawberry.ID(to_global_id("Organisation", row.organisation_id)),
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )
