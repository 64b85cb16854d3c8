"""Meter readings in GraphQL: a metering point's history, and the meter gateway tokens for POST /meters/readings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import case, select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs, require_principal
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
    to_global_id,
)
from models import metering as mt
from models import telemetry as tel
from models.base import utcnow
from models.identity import Permission
from resolvers.metering.errors import MeteringError
from resolvers.metering.readings.gateway import MAX_NAME, create_token, revoke_token, token_visible
from resolvers.metering.readings.history import Aggregation, series_readings
from resolvers.metering.readings.ingest import UNITS
from resolvers.metering.readings.latest import RESOURCE_KEYS
from resolvers.metering.readings.loaders import visible_gateway_tokens
from resolvers.metering.readings.types import MeterGatewayToken, MeteringPointReadings, ReadingAggregation
from resolvers.metering.scope import metering_point_visible

MAX_READINGS = 1000


@strawberry.input(description="A new meter gateway token for an organisation of your subtree.")
class MeterGatewayTokenCreateInput:
    name: str = strawberry.field(description=f"What it is for (at most {MAX_NAME} characters).")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The organisation whose meters it writes (yours or a descendant); default: yours."
    )


@strawberry.input(description="A meter gateway token to revoke.")
class MeterGatewayTokenRevokeInput:
    id: strawberry.ID = strawberry.field(description="The token.")


@strawberry.type(description="The new token, shown this once, or why it was refused.")
class MeterGatewayTokenCreatePayload:
    meter_gateway_token: MeterGatewayToken | None = strawberry.field(
        description="The token's record; null when refused."
    )
    token: str | None = strawberry.field(
        description="The token itself: send it as `Authorization: Bearer <token>` to POST /meters/readings. Only its "
        "hash is stored; it is never shown again."
    )
    errors: list[MeteringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The revoked token, or why it was refused.")
class MeterGatewayTokenPayload:
    meter_gateway_token: MeterGatewayToken | None = strawberry.field(description="The token; null when refused.")
    errors: list[MeteringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type
class ReadingsQuery:
    @strawberry.field(
        description="Meter gateway tokens of your organisation's subtree (never the tokens themselves), newest first.",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def meter_gateway_tokens(
        self,
        info: Info,
        organisation_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this organisation's tokens.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[MeterGatewayToken]:
        token = mt.MeterGatewayToken
        statement = select(token).where(token_visible(require_principal(info.context)))
        if organisation_id is not None:
            pk = decode_id(organisation_id, "Organisation")
            if pk is None:
                raise BadUserInput("Not an Organisation ID.", argument="organisationId")
            statement = statement.where(token.organisation_id == pk)
        return await paginate(
            info.context,
            statement,
            [SortKey(token.created_at, descending=True), SortKey(token.id, descending=True)],
            MeterGatewayToken.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, MeterGatewayToken),
        )

    @strawberry.field(
        description="A metering point's readings, newest first: every reading, or the last one of each day or month "
        "in the point's time zone. Null for a point you do not see.",
        permission_classes=[needs(Permission.METERING_READ)],
    )
    async def metering_point_readings(
        self,
        info: Info,
        metering_point_id: Annotated[strawberry.ID, strawberry.argument(description="The metering point.")],
        start: Annotated[datetime | None, strawberry.argument(name="from", description="From (inclusive).")] = None,
        end: Annotated[
            datetime | None, strawberry.argument(name="to", description="To (exclusive); default: now.")
        ] = None,
        aggregation: Annotated[
            ReadingAggregation, strawberry.argument(description="NONE: each reading; DAY/MONTH: the last of each.")
        ] = ReadingAggregation.NONE,
        first: Annotated[int, strawberry.argument(description=f"At most this many (1-{MAX_READINGS}).")] = 100,
    ) -> MeteringPointReadings | None:
        pk = decode_id(metering_point_id, "MeteringPoint")
        if pk is None:
            raise BadUserInput("Not a MeteringPoint ID.", argument="meteringPointId")
        if not 1 <= first <= MAX_READINGS:
            raise BadUserInput(f"first is 1 to {MAX_READINGS}.", argument="first")
        end = end or utcnow()
        point_table, series = mt.MeteringPoint, tel.TelemetrySeries
        async with info.context.session() as session:
            found = (
                await session.execute(
                    select(point_table.resource, point_table.time_zone, point_table.meter_id, series.id)
                    .outerjoin(
                        series,
                        (series.meter_id == point_table.meter_id) & (series.key == _reading_key(point_table.resource)),
                    )
                    .where(point_table.id == pk, metering_point_visible(require_principal(info.context)))
                )
            ).first()
            if found is None:
                return None
            resource, zone, _, series_id = found
            readings = []
            if series_id is not None:
                readings = await series_readings(
                    session, series_id, zone, Aggregation[aggregation.name], start, end, first
                )
        key = RESOURCE_KEYS[resource]
        return MeteringPointReadings(
            metering_point_id=strawberry.ID(to_global_id("MeteringPoint", pk)),
            key=key,
            unit=UNITS[key],
            time_zone=zone,
            aggregation=aggregation,
            count=len(readings),
            at=[at for at, _ in readings],
            values=[value for _, value in readings],
        )


def _reading_key(resource: Any) -> Any:
    """The reading key of a point's resource, in SQL (RESOURCE_KEYS as a CASE)."""
    return case({resource_value: key for resource_value, key in RESOURCE_KEYS.items()}, value=resource)


@strawberry.type
class ReadingsMutation:
    @strawberry.mutation(
        description="Create a meter gateway token for POST /meters/readings; the token is shown only in the answer.",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def meter_gateway_token_create(
        self, info: Info, input: MeterGatewayTokenCreateInput
    ) -> MeterGatewayTokenCreatePayload:
        context = info.context
        return await mutate(
            context,
            MeterGatewayTokenCreatePayload,
            lambda s: create_token(s, context, input.organisation_id, input.name),
            lambda result: MeterGatewayTokenCreatePayload(
                meter_gateway_token=MeterGatewayToken.from_model(result[0]), token=result[1], errors=[]
            ),
        )

    @strawberry.mutation(
        description="Revoke a meter gateway token: POST /meters/readings refuses it from now on.",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def meter_gateway_token_revoke(
        self, info: Info, input: MeterGatewayTokenRevokeInput
    ) -> MeterGatewayTokenPayload:
        context = info.context
        return await mutate(
            context,
            MeterGatewayTokenPayload,
            lambda s: revoke_token(s, context, input.id),
            lambda row: MeterGatewayTokenPayload(meter_gateway_token=MeterGatewayToken.from_model(row), errors=[]),
        )


NODE_RESOLVERS = {
    "MeterGatewayToken": (
        Permission.METERING_MANAGE,
        node_loader(visible_gateway_tokens, MeterGatewayToken.from_model),
    ),
}
