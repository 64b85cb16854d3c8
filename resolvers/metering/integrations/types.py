"""GraphQL types of integrations and their runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from graph.relay import Node, to_global_id
from models import metering as mt
from resolvers.metering.integrations.fields import masked_person
from resolvers.metering.integrations.rules import time_of_day_text
from resolvers.metering.integrations.schedule import Periodicity as PeriodicityValue

IntegrationKind = strawberry.enum(
    mt.IntegrationKind, name="IntegrationKind", description="Where an integration delivers a point's readings."
)
Periodicity = strawberry.enum(PeriodicityValue, name="Periodicity", description="How often an integration transfers.")
RunStatus = strawberry.enum(
    mt.RunStatus,
    name="IntegrationRunStatus",
    description="A run's outcome: PENDING (queued or retrying), DELIVERED, DEVICE_NOT_FOUND (the city portal does "
    "not know the meter yet: retried daily by itself), FAILED (edit the integration).",
)


@strawberry.type(description="An e-mail integration's fields.")
class EmailFields:
    recipient: str = strawberry.field(description="Where the readings go, e.g. the management company.")


@strawberry.type(description="A webhook's fields; its HMAC secret is never shown.")
class WebhookFields:
    url: str = strawberry.field(description="Receives an HTTP POST of the JSON payload (README).")
    secret_set: bool = strawberry.field(description="Whether an HMAC secret is stored (sealed).")


@strawberry.type(description="The city portal's (mos.ru) fields.")
class CityPortalFields:
    payer_id: str = strawberry.field(description='Payer ID: the "KOD" on the water bill.')
    apartment: str = strawberry.field(description="Apartment number.")
    responsible_person: str | None = strawberry.field(
        description='Who is responsible for the transfer, masked ("М***н Артём Дмитриевич"); null when unknown.'
    )


@strawberry.type(description="The state housing system's (GIS ZhKKh) fields.")
class StateHousingFields:
    unified_account_number: str = strawberry.field(description="The unified personal account number (ЕЛС).")


@strawberry.type(description="The utility's (Mosvodokanal) fields.")
class UtilityFields:
    subscriber_number: str = strawberry.field(description="The subscriber number at the utility.")


def _fields(row: mt.Integration) -> dict[str, Any]:
    settings = row.settings or {}
    kind = mt.IntegrationKind(row.kind)
    return {
        "email": EmailFields(recipient=settings["recipient"]) if kind is mt.IntegrationKind.EMAIL else None,
        "webhook": WebhookFields(url=settings["url"], secret_set=row.secret is not None)
        if kind is mt.IntegrationKind.WEBHOOK
        else None,
        "city_portal": CityPortalFields(
            payer_id=settings["payerId"],
            apartment=settings["apartment"],
            responsible_person=masked_person(settings["responsiblePerson"])
            if settings.get("responsiblePerson")
            else None,
        )
        if kind is mt.IntegrationKind.CITY_PORTAL
        else None,
        "state_housing": StateHousingFields(unified_account_number=settings["unifiedAccountNumber"])
        if kind is mt.IntegrationKind.STATE_HOUSING
        else None,
        "utility": UtilityFields(subscriber_number=settings["subscriberNumber"])
        if kind is mt.IntegrationKind.UTILITY
        else None,
    }


@strawberry.type(description="A metering point's scheduled transfer of its latest reading to a third party.")
class Integration(Node):
    kind: IntegrationKind = strawberry.field(description="Where it delivers.")  # type: ignore[valid-type]
    metering_point_id: strawberry.ID = strawberry.field(description="The metering point.")
    enabled: bool = strawberry.field(description="Whether the scheduler transfers it.")
    periodicity: Periodicity = strawberry.field(description="How often.")  # type: ignore[valid-type]
    next_transfer_date: date = strawberry.field(description="The local date of the next transfer (its period).")
    next_transfer_at: datetime = strawberry.field(description="The instant of the next transfer (UTC).")
    time_of_day: str = strawberry.field(description="Local time of day of the transfers (HH:MM, the point's zone).")
    retrying_device_not_found: bool = strawberry.field(
        description="The city portal did not know the meter: the period is tried again daily until it succeeds "
        "or the integration is edited."
    )
    email: EmailFields | None = strawberry.field(description="EMAIL's fields; null for other kinds.")
    webhook: WebhookFields | None = strawberry.field(description="WEBHOOK's fields; null for other kinds.")
    city_portal: CityPortalFields | None = strawberry.field(description="CITY_PORTAL's fields; null otherwise.")
    state_housing: StateHousingFields | None = strawberry.field(description="STATE_HOUSING's fields; null otherwise.")
    utility: UtilityFields | None = strawberry.field(description="UTILITY's fields; null for other kinds.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: mt.Integration) -> Integration:
        return cls(
            id=strawberry.ID(to_global_id("Integration", row.id)),
            kind=mt.IntegrationKind(row.kind),
            metering_point_id=strawberry.ID(to_global_id("MeteringPoint", row.metering_point_id)),
            enabled=row.enabled,
            periodicity=PeriodicityValue(row.periodicity),
            next_transfer_date=row.next_period,
            next_transfer_at=row.next_due_at,
            time_of_day=time_of_day_text(row.at_minute),
            retrying_device_not_found=row.retry_at is not None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            pk=row.id,
            **_fields(row),
        )


@strawberry.type(description="One transfer of one period and its outcome.")
class IntegrationRun:
    period: date = strawberry.field(description="The local date of the period delivered.")
    trigger: str = strawberry.field(description="SCHEDULE, RETRY (device not found, daily) or SYNCHRONISE.")
    status: RunStatus = strawberry.field(description="Its outcome so far.")  # type: ignore[valid-type]
    error: str = strawberry.field(description="The last attempt's problem; empty when none.")
    payload_digest: str = strawberry.field(description="SHA-256 (hex) of the payload sent; empty before the first.")
    delivery_id: int | None = strawberry.field(description="The outbound delivery carrying it (none: synchronised).")
    created_at: datetime = strawberry.field(description="When it was queued.")
    finished_at: datetime | None = strawberry.field(description="When it ended; null while PENDING.")

    @classmethod
    def from_model(cls, row: mt.IntegrationRun) -> IntegrationRun:
        return cls(
            period=row.period,
            trigger=row.trigger,
            status=mt.RunStatus(row.status),
            error=row.error,
            payload_digest=row.payload_digest,
            delivery_id=row.delivery_id,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )
