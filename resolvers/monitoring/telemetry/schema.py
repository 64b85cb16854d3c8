"""Telemetry in GraphQL: the batch ingest mutation, the latest values of a location, the history of a series."""

from __future__ import annotations

from datetime import datetime
from typing import NewType

import strawberry
from strawberry.types import Info

from graph.mutations import mutate
from graph.permissions import needs
from models.identity import Permission
from resolvers.monitoring.errors import MonitoringError
from resolvers.monitoring.telemetry.points import MAX_POINTS, PointIn
from resolvers.monitoring.telemetry.rules import late_window, store_points
from resolvers.remote.scope import visible_location

TelemetryValue = strawberry.scalar(
    NewType("TelemetryValue", object),
    description="A point's value: a finite number, or a boolean (stored as 1 or 0).",
    serialize=lambda value: value,
    parse_value=lambda value: value,  # checked per point by the rule, so that a bad one is a typed error
)


@strawberry.input(description="One telemetry value.")
class TelemetryPointInput:
    key: str = strawberry.field(description="Telemetry key (1-100 letters, digits, _ . : / -).")
    value: TelemetryValue = strawberry.field(description="A finite number or a boolean.")  # type: ignore[valid-type]
    at: datetime | None = strawberry.field(
        default=None,
        description="When it was measured; default: now. At most 5 minutes ahead, not older than the late window.",
    )
    device_id: strawberry.ID | None = strawberry.field(
        default=None, description="A device of the location; null: the location's own value."
    )


@strawberry.input(description="A batch of telemetry of one location.")
class TelemetryIngestInput:
    location_id: strawberry.ID = strawberry.field(description="The location.")
    points: list[TelemetryPointInput] = strawberry.field(
        description=f"At most {MAX_POINTS} points; the same key and time twice: the last one wins."
    )


@strawberry.type(description="How many points were stored, or why none were.")
class TelemetryIngestPayload:
    stored: int | None = strawberry.field(description="Points written (after last-write-wins); null when refused.")
    errors: list[MonitoringError] = strawberry.field(
        description="Every bad point (field points.<index>.<field>); one bad point refuses the whole batch."
    )


@strawberry.type
class TelemetryMutation:
    @strawberry.mutation(
        description="Store a batch of telemetry points of a location you reach: all or nothing.",
        permission_classes=[needs(Permission.TELEMETRY_WRITE)],
    )
    async def telemetry_ingest(self, info: Info, input: TelemetryIngestInput) -> TelemetryIngestPayload:
        context = info.context
        points = [PointIn(p.key, p.value, p.at, p.device_id) for p in input.points]
        late = late_window(context.runtime.settings)

        async def work(session):
            location = await visible_location(session, context, input.location_id, "locationId")
            return await store_points(session, context, location, points, late=late)

        return await mutate(
            context, TelemetryIngestPayload, work, lambda stored: TelemetryIngestPayload(stored=len(stored), errors=[])
        )
