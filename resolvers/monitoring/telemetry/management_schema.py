"""Telemetry's settings in GraphQL: device tokens of a location, retention of an organisation."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from strawberry.types import Info

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
    node_loader,
    paginate,
    to_global_id,
)
from graph.tenancy import organisation_visible
from models import telemetry as tel
from models.identity import Organisation, Permission
from resolvers.monitoring.errors import MonitoringError
from resolvers.monitoring.telemetry.loaders import managed_tokens, token_managed
from resolvers.monitoring.telemetry.management import (
    MAX_NAME,
    MAX_RETENTION_DAYS,
    create_token,
    revoke_token,
    set_retention,
)
from resolvers.monitoring.telemetry.schema import query_id
from resolvers.monitoring.telemetry.types import TelemetryToken


@strawberry.input(description="A new device token for a location of your organisation's subtree.")
class TelemetryTokenCreateInput:
    location_id: strawberry.ID = strawberry.field(description="The location whose telemetry it sends.")
    name: str = strawberry.field(description=f"What it is for (at most {MAX_NAME} characters).")


@strawberry.input(description="A device token to revoke.")
class TelemetryTokenRevokeInput:
    id: strawberry.ID = strawberry.field(description="The token.")


@strawberry.type(description="The new token, shown this once, or why it was refused.")
class TelemetryTokenCreatePayload:
    telemetry_token: TelemetryToken | None = strawberry.field(description="The token's record; null when refused.")
    token: str | None = strawberry.field(
        description="The token itself: send it as `Authorization: Bearer <token>` to POST /telemetry. Only its "
        "hash is stored; it is never shown again."
    )
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The revoked token, or why it was refused.")
class TelemetryTokenPayload:
    telemetry_token: TelemetryToken | None = strawberry.field(description="The token; null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="How long an organisation keeps its telemetry points.")
class TelemetryRetentionSetInput:
    days: int | None = strawberry.field(
        description=f"Days (1-{MAX_RETENTION_DAYS}; 0: forever); null: back to the server's default."
    )
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Organisation (yours or a descendant); default: your own."
    )


@strawberry.type(description="An organisation's telemetry retention.")
class TelemetryRetention:
    organisation_id: strawberry.ID = strawberry.field(description="The organisation.")
    days: int = strawberry.field(description="Points older than this many days are purged; 0: kept forever.")
    is_default: bool = strawberry.field(description="Whether this is the server's default (not set).")


@strawberry.type(description="The retention now, or why the change was refused.")
class TelemetryRetentionPayload:
    retention: TelemetryRetention | None = strawberry.field(description="The retention; null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


def retention_of(organisation_pk: int, days: int | None, default: int) -> TelemetryRetention:
    return TelemetryRetention(
        organisation_id=strawberry.ID(to_global_id("Organisation", organisation_pk)),
        days=default if days is None else days,
        is_default=days is None,
    )


@strawberry.type
class TelemetryManagementQuery:
    @strawberry.field(
        description="Device tokens of a location you manage (never the tokens themselves), newest first.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def telemetry_tokens(
        self,
        info: Info,
        location_id: strawberry.ID,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[TelemetryToken]:
        token = tel.TelemetryToken
        statement = select(token).where(
            token.location_id == query_id(location_id, "Location", "locationId"), token_managed(info.context.principal)
        )
        return await paginate(
            info.context,
            statement,
            [SortKey(token.created_at, descending=True), SortKey(token.id, descending=True)],
            TelemetryToken.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, TelemetryToken),
        )

    @strawberry.field(
        description="How long an organisation you see keeps its telemetry; null for an organisation you do not see.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def telemetry_retention(self, info: Info, organisation_id: strawberry.ID) -> TelemetryRetention | None:
        pk = query_id(organisation_id, "Organisation", "organisationId")
        async with info.context.session() as session:
            row = await session.execute(
                select(Organisation.id, tel.TelemetryRetention.days)
                .outerjoin(tel.TelemetryRetention, tel.TelemetryRetention.organisation_id == Organisation.id)
                .where(Organisation.id == pk, organisation_visible(info.context.principal))
            )
            found = row.first()
        if found is None:
            return None
        return retention_of(found[0], found[1], info.context.runtime.settings.telemetry_retention_days)


@strawberry.type
class TelemetryManagementMutation:
    @strawberry.mutation(
        description="Create a device token for POST /telemetry of a location; the token is shown only in the answer.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def telemetry_token_create(self, info: Info, input: TelemetryTokenCreateInput) -> TelemetryTokenCreatePayload:
        context = info.context
        return await mutate(
            context,
            TelemetryTokenCreatePayload,
            lambda s: create_token(s, context, input.location_id, input.name),
            lambda result: TelemetryTokenCreatePayload(
                telemetry_token=TelemetryToken.from_model(result[0]), token=result[1], errors=[]
            ),
        )

    @strawberry.mutation(
        description="Revoke a device token: POST /telemetry refuses it from now on.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def telemetry_token_revoke(self, info: Info, input: TelemetryTokenRevokeInput) -> TelemetryTokenPayload:
        context = info.context
        return await mutate(
            context,
            TelemetryTokenPayload,
            lambda s: revoke_token(s, context, input.id),
            lambda row: TelemetryTokenPayload(telemetry_token=TelemetryToken.from_model(row), errors=[]),
        )

    @strawberry.mutation(
        description="Set how long an organisation keeps its telemetry points (the purge worker deletes older ones).",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def telemetry_retention_set(self, info: Info, input: TelemetryRetentionSetInput) -> TelemetryRetentionPayload:
        context = info.context
        default = context.runtime.settings.telemetry_retention_days
        return await mutate(
            context,
            TelemetryRetentionPayload,
            lambda s: set_retention(s, context, input.organisation_id, input.days),
            lambda result: TelemetryRetentionPayload(retention=retention_of(*result, default), errors=[]),
        )


NODE_RESOLVERS = {
    "TelemetryToken": (Permission.MONITORING_MANAGE, node_loader(managed_tokens, TelemetryToken.from_model)),
}
