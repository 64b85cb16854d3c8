"""Telemetry in GraphQL: the batch ingest mutation, the latest values of a location, the history of a series."""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from itertools import accumulate
from typing import Annotated, NewType

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput, DomainError, DomainErrors
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import (
    Connection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
)
from models import telemetry as tel
from models.identity import Permission
from resolvers.monitoring.errors import MonitoringError
from resolvers.monitoring.errors import MonitoringErrorCode as Code
from resolvers.monitoring.telemetry.history import MAX_BUCKETS, MAX_PERIOD, MAX_RAW_POINTS, Period, history, series_of
from resolvers.monitoring.telemetry.loaders import series_visible, visible_series
from resolvers.monitoring.telemetry.points import MAX_POINTS, PointIn, PointPaths
from resolvers.monitoring.telemetry.rules import late_window, store_points
from resolvers.monitoring.telemetry.types import TelemetryAggregation, TelemetryHistory, TelemetrySeries
from resolvers.remote.scope import location_visible, visible_location

TelemetryValue = NewType("TelemetryValue", object)
#: Its definition, in the schema's scalar_map (graph.schema).
TELEMETRY_VALUE_SCALAR = strawberry.scalar(
    name="TelemetryValue",
    description="A point's value: a finite number, or a boolean (stored as 1 or 0).",
    serialize=lambda value: value,
    parse_value=lambda value: value,  # checked per point by the rule, so that a bad one is a typed error
)


@strawberry.input(description="One telemetry value.")
class TelemetryPointInput:
    key: str = strawberry.field(description="Telemetry key (1-100 letters, digits, _ . : / -).")
    value: TelemetryValue = strawberry.field(description="A finite number or a boolean.")
    at: datetime | None = strawberry.field(
        default=None,
        description="When it was measured; default: now. At most 5 minutes ahead, not older than the late window.",
    )
    device_id: strawberry.ID | None = strawberry.field(
        default=None, description="A device of the location; null: the location's own value."
    )


@strawberry.input(
    description=(
        "Values of one key over time as two arrays of one length: the bulk form (an object per point costs the "
        "server several times more to read), and the shape telemetryHistory answers in."
    )
)
class TelemetrySeriesInput:
    key: str = strawberry.field(description="Telemetry key (1-100 letters, digits, _ . : / -).")
    timestamps: list[datetime] = strawberry.field(description="When each value was measured.")
    values: list[TelemetryValue] = strawberry.field(description="A finite number or a boolean per timestamp.")
    device_id: strawberry.ID | None = strawberry.field(
        default=None, description="A device of the location; null: the location's own values."
    )


@strawberry.input(description="A batch of telemetry of one location: points, series, or both.")
class TelemetryIngestInput:
    location_id: strawberry.ID = strawberry.field(description="The location.")
    points: list[TelemetryPointInput] = strawberry.field(
        default_factory=list,
        description=f"Single points. At most {MAX_POINTS} points per call in all; the same key and time twice: the "
        "last one wins.",
    )
    series: list[TelemetrySeriesInput] = strawberry.field(
        default_factory=list, description="Whole series (their points count towards the limit; after `points`)."
    )


class IngestPaths(PointPaths):
    """Problems of the mutation's points at their place in the input: points.<index>.<field> for single points,
    series.<s>.values.<i> (timestamps.<i>, key, deviceId) for a series' points, which follow them."""

    def __init__(self, single: int, series_lengths: list[int]) -> None:
        self.single = single
        self.starts = list(accumulate(series_lengths, initial=single))[:-1]

    def locate(self, index: int, field: str) -> tuple[list[str], str]:
        if index < self.single:
            return super().locate(index, field)
        number = bisect_right(self.starts, index) - 1
        offset = index - self.starts[number]
        label = f"Series {number}, point {offset}"
        if field in ("key", "deviceId"):
            return ["series", str(number), field], label
        return ["series", str(number), "values" if field == "value" else "timestamps", str(offset)], label


def ingest_points(input: TelemetryIngestInput) -> tuple[list[PointIn], IngestPaths]:
    """The input's points in one list (single points first), and where each came from; DomainErrors for series
    whose arrays differ in length."""
    mismatched = [
        DomainError(Code.INVALID, f"Series {number}: as many values as timestamps.", ["series", str(number), "values"])
        for number, one in enumerate(input.series)
        if len(one.timestamps) != len(one.values)
    ]
    if mismatched:
        raise DomainErrors(mismatched)
    points = [PointIn(p.key, p.value, p.at, p.device_id) for p in input.points]
    for one in input.series:
        key, device = one.key, one.device_id
        points.extend(PointIn(key, value, at, device) for at, value in zip(one.timestamps, one.values, strict=True))
    return points, IngestPaths(len(input.points), [len(one.timestamps) for one in input.series])


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
        late = late_window(context.runtime.settings)

        async def work(session):
            points, paths = ingest_points(input)
            location = await visible_location(session, context, input.location_id, "locationId")
            return await store_points(session, context, location, points, late=late, paths=paths)

        return await mutate(
            context, TelemetryIngestPayload, work, lambda stored: TelemetryIngestPayload(stored=len(stored), errors=[])
        )


def history_width(
    period: Period, aggregation: TelemetryAggregation, bucket_seconds: int | None, buckets: int | None
) -> int | None:
    """The bucket width in seconds, or None for NONE; a refusal is a GraphQL error with BAD_USER_INPUT."""
    if period.end - period.start > MAX_PERIOD:
        raise BadUserInput(f"A history spans at most {MAX_PERIOD.days} days.", argument="to")
    if aggregation is TelemetryAggregation.NONE:
        return None
    span = int((period.end - period.start).total_seconds())
    if bucket_seconds is not None and buckets is not None:
        raise BadUserInput("Give bucketSeconds or buckets, not both.", argument="bucketSeconds")
    if buckets is not None:
        if not 1 <= buckets <= MAX_BUCKETS:
            raise BadUserInput(f"buckets is 1-{MAX_BUCKETS}.", argument="buckets")
        return max(1, -(-span // buckets))
    if bucket_seconds is None:
        raise BadUserInput("An aggregation needs bucketSeconds or buckets.", argument="bucketSeconds")
    if bucket_seconds < 1 or -(-span // bucket_seconds) > MAX_BUCKETS:
        raise BadUserInput(
            f"bucketSeconds is at least 1 and makes at most {MAX_BUCKETS} buckets.", argument="bucketSeconds"
        )
    return bucket_seconds


def query_id(global_id: str, kind: str, argument: str) -> int:
    """The pk of an ID argument of a query; a malformed one is a BAD_USER_INPUT error (an unknown one reads empty)."""
    pk = decode_id(global_id, kind)
    if pk is None:
        raise BadUserInput(f"Not a {kind} ID.", argument=argument)
    return pk


def history_period(start: datetime | None, end: datetime | None, period: str | None) -> Period:
    if period is not None:
        found = Period.from_cursor(period)
        if found is None:
            raise BadUserInput("Not a period cursor.", argument="period")
        return found
    if start is None or end is None:
        raise BadUserInput("Give from and to, or a period cursor.", argument="from")
    if start >= end:
        raise BadUserInput("from is before to.", argument="from")
    return Period(start, end)


@strawberry.type
class TelemetryQuery:
    @strawberry.field(
        description="The telemetry series of a location you see, with their latest values, by key.",
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def telemetry_latest(
        self,
        info: Info,
        location_id: strawberry.ID,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[TelemetrySeries]:
        series = tel.TelemetrySeries
        statement = select(series).where(
            series.location_id == query_id(location_id, "Location", "locationId"),
            series_visible(info.context.principal),
        )
        keys = [SortKey(series.key), SortKey(series.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            TelemetrySeries.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, TelemetrySeries),
        )

    @strawberry.field(
        description=(
            f"Points of one series over a period, aggregated per bucket in the database or raw (NONE: at most "
            f"{MAX_RAW_POINTS} points, then `truncated`). Empty for a series or location you do not see. "
            "Navigate with the `previous`/`next` cursors as `period`."
        ),
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def telemetry_history(
        self,
        info: Info,
        location_id: strawberry.ID,
        key: str,
        device_id: strawberry.ID | None = None,
        start: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        end: Annotated[datetime | None, strawberry.argument(name="to")] = None,
        period: Annotated[str | None, strawberry.argument(description="A previous/next cursor.")] = None,
        aggregation: TelemetryAggregation = TelemetryAggregation.NONE,
        bucket_seconds: int | None = None,
        buckets: Annotated[int | None, strawberry.argument(description="Split the period into this many.")] = None,
    ) -> TelemetryHistory:
        window = history_period(start, end, period)
        width = history_width(window, aggregation, bucket_seconds, buckets)
        device_pk = None if device_id is None else query_id(device_id, "LocationDevice", "deviceId")
        location_pk = query_id(location_id, "Location", "locationId")
        series = series_of(location_pk, device_pk, key, location_visible(info.context.principal))
        async with info.context.session() as session:
            timestamps, values, truncated = await history(session, series, window, aggregation.value, width)
        return TelemetryHistory(
            start=window.start,
            end=window.end,
            aggregation=aggregation,
            bucket_seconds=width,
            timestamps=timestamps,
            values=values,
            count=len(values),
            truncated=truncated,
            previous=window.previous.cursor(),
            next=window.next.cursor(),
        )


NODE_RESOLVERS = {
    "TelemetrySeries": (Permission.LOCATIONS_READ, node_loader(visible_series, TelemetrySeries.from_model)),
}
