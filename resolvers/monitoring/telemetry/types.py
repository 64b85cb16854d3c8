"""GraphQL types of telemetry: a series with its latest value, and a history as arrays."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import telemetry as tel
from resolvers.remote.devices.loaders import visible_devices
from resolvers.remote.devices.types import LocationDevice
from resolvers.remote.locations.loaders import visible_locations
from resolvers.remote.locations.types import Location


@strawberry.enum(description="How a series' numbers are meant: points are stored as numbers, a boolean as 0 or 1.")
class TelemetryDataType(enum.Enum):
    FLOAT = "FLOAT"
    INTEGER = "INTEGER"
    BOOLEAN = "BOOLEAN"


@strawberry.enum(description="How the points of a history bucket become one value.")
class TelemetryAggregation(enum.Enum):
    NONE = strawberry.enum_value("NONE", description="Every point, no buckets (capped; see `truncated`).")
    MIN = "MIN"
    MAX = "MAX"
    AVG = "AVG"
    SUM = "SUM"
    COUNT = "COUNT"


@strawberry.type(description="One telemetry key of a location (or of one of its devices), with its latest value.")
class TelemetrySeries(Node):
    key: str = strawberry.field(description="The telemetry key.")
    unit: str = strawberry.field(description="Unit (e.g. °C); empty when not configured.")
    data_type: TelemetryDataType = strawberry.field(description="How its values are meant.")
    last_at: datetime | None = strawberry.field(description="Time of the newest point (by its time, not its arrival).")
    last_value: float | None = strawberry.field(description="Value of the newest point.")
    device_pk: strawberry.Private[int | None]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: Any) -> TelemetrySeries:
        return cls(
            id=strawberry.ID(to_global_id("TelemetrySeries", row.id)),
            key=row.key,
            unit=row.unit,
            data_type=TelemetryDataType(tel.DataType(row.data_type).value),
            last_at=row.last_at,
            last_value=row.last_value,
            device_pk=row.device_id,
        )

    @strawberry.field(description="The device it belongs to; null: the location's own value.")
    @relation(Batched(visible_devices, key=lambda series: series.device_pk, build=LocationDevice.from_model))
    def device(self, info: Info) -> LocationDevice | None: ...


@strawberry.type(description="Points of one series over a period, as two arrays of the same length.")
class TelemetryHistory:
    start: datetime = strawberry.field(name="from", description="Start of the period (included).")
    end: datetime = strawberry.field(name="to", description="End of the period (excluded).")
    aggregation: TelemetryAggregation = strawberry.field(description="How buckets were computed.")
    bucket_seconds: int | None = strawberry.field(
        description="Width of a bucket (buckets start at multiples of it since 1970); null for NONE."
    )
    timestamps: list[datetime] = strawberry.field(description="Time of each point, or start of each bucket.")
    values: list[float | None] = strawberry.field(description="Value of each point or bucket (same order).")
    count: int = strawberry.field(description="Number of points or buckets.")
    truncated: bool = strawberry.field(
        description="NONE only: the period has more points than the limit; these are the oldest ones."
    )
    previous: str = strawberry.field(description="Cursor of the period just before (same length).")
    next: str = strawberry.field(description="Cursor of the period just after (same length).")


@strawberry.type(description="A location's device token for POST /telemetry (the token itself is shown only once).")
class TelemetryToken(Node):
    name: str = strawberry.field(description="What it is for (e.g. the device that sends with it).")
    created_at: datetime = strawberry.field(description="When it was created.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; null while valid.")
    location_pk: strawberry.Private[int]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: Any) -> TelemetryToken:
        return cls(
            id=strawberry.ID(to_global_id("TelemetryToken", row.id)),
            name=row.name,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            location_pk=row.location_id,
        )

    @strawberry.field(description="The location whose telemetry it sends.")
    @relation(Batched(visible_locations, key=lambda token: token.location_pk, build=Location.from_model))
    def location(self, info: Info) -> Location | None: ...
