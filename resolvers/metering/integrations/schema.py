"""Integrations in GraphQL: a point's integrations, their run history, create, update, delete, synchronise."""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from graph.errors import BadUserInput, DomainError, refused
from graph.mutations import mutate, run_in_transaction
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
)
from graph.rules import UNSET, unset_if_null
from models import metering as mt
from models.base import utcnow
from models.identity import Permission
from resolvers.metering.errors import MeteringError
from resolvers.metering.errors import MeteringErrorCode as Code
from resolvers.metering.integrations import adapters
from resolvers.metering.integrations.fields import INPUT_FIELD
from resolvers.metering.integrations.loaders import integration_visible, visible_integrations
from resolvers.metering.integrations.rules import (
    create_integration,
    delete_integration,
    update_integration,
    visible_integration,
)
from resolvers.metering.integrations.schedule import Periodicity as PeriodicityValue
from resolvers.metering.integrations.timing import schedule_of
from resolvers.metering.integrations.types import Integration, IntegrationKind, IntegrationRun, Periodicity

Itg, R = mt.Integration, mt.IntegrationRun


@strawberry.input(description="An e-mail integration's fields.")
class EmailFieldsInput:
    recipient: str = strawberry.field(description="E-mail address, e.g. the management company's.")


@strawberry.input(description="A webhook's fields.")
class WebhookFieldsInput:
    url: str = strawberry.field(description="http(s) URL that receives the POST.")
    secret: str | None = strawberry.field(
        default=None, description="HMAC-SHA256 key (16 to 200 characters); required at creation, kept when left out."
    )


@strawberry.input(description="The city portal's (mos.ru) fields.")
class CityPortalFieldsInput:
    payer_id: str = strawberry.field(description='Payer ID: the "KOD" on the water bill (digits).')
    apartment: str = strawberry.field(description="Apartment number.")
    responsible_person: str | None = strawberry.field(default=None, description="Who is responsible (optional).")


@strawberry.input(description="The state housing system's (GIS ZhKKh) fields.")
class StateHousingFieldsInput:
    unified_account_number: str = strawberry.field(description="Unified personal account number (ЕЛС, 10 characters).")


@strawberry.input(description="The utility's (Mosvodokanal) fields.")
class UtilityFieldsInput:
    subscriber_number: str = strawberry.field(description="Subscriber number (digits).")


@strawberry.input(description="A new integration of a metering point; give the fields object of its kind.")
class IntegrationCreateInput:
    metering_point_id: strawberry.ID = strawberry.field(description="The metering point.")
    kind: IntegrationKind = strawberry.field(description="Where it delivers.")  # type: ignore[valid-type]
    next_transfer_date: date = strawberry.field(description="Local date of the first transfer.")
    periodicity: Periodicity = strawberry.field(description="How often.")  # type: ignore[valid-type]
    time_of_day: str | None = strawberry.field(default=None, description="Local HH:MM; default 10:00.")
    enabled: bool = strawberry.field(default=True, description="Whether the scheduler transfers it.")
    email: EmailFieldsInput | None = strawberry.field(default=None, description="EMAIL's fields.")
    webhook: WebhookFieldsInput | None = strawberry.field(default=None, description="WEBHOOK's fields.")
    city_portal: CityPortalFieldsInput | None = strawberry.field(default=None, description="CITY_PORTAL's fields.")
    state_housing: StateHousingFieldsInput | None = strawberry.field(
        default=None, description="STATE_HOUSING's fields."
    )
    utility: UtilityFieldsInput | None = strawberry.field(default=None, description="UTILITY's fields.")


@strawberry.input(description="Change an integration; fields left out stay. Its kind stays.")
class IntegrationUpdateInput:
    id: strawberry.ID = strawberry.field(description="The integration.")
    next_transfer_date: date | None = strawberry.field(default=strawberry.UNSET, description="New next local date.")
    periodicity: Periodicity | None = strawberry.field(default=strawberry.UNSET, description="New periodicity.")  # type: ignore[valid-type]
    time_of_day: str | None = strawberry.field(default=strawberry.UNSET, description="New local HH:MM.")
    enabled: bool | None = strawberry.field(default=strawberry.UNSET, description="Turn it on or off.")
    email: EmailFieldsInput | None = strawberry.field(default=None, description="EMAIL's fields.")
    webhook: WebhookFieldsInput | None = strawberry.field(default=None, description="WEBHOOK's fields.")
    city_portal: CityPortalFieldsInput | None = strawberry.field(default=None, description="CITY_PORTAL's fields.")
    state_housing: StateHousingFieldsInput | None = strawberry.field(
        default=None, description="STATE_HOUSING's fields."
    )
    utility: UtilityFieldsInput | None = strawberry.field(default=None, description="UTILITY's fields.")


@strawberry.input(description="An integration (to delete or synchronise).")
class IntegrationIdInput:
    id: strawberry.ID = strawberry.field(description="The integration.")


@strawberry.type(description="The integration, or why the change was refused.")
class IntegrationPayload:
    integration: Integration | None = strawberry.field(description="The integration; null when refused.")
    errors: list[MeteringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted integration's ID, or why it was refused.")
class IntegrationDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted integration; null if refused.")
    errors: list[MeteringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.enum(description="What a synchronisation achieved.")
class SynchroniseResult(enum.Enum):
    DELIVERED = "DELIVERED"
    #: Not an error: the management company has not registered the meter with the city portal yet; the system
    #: tries again daily by itself.
    DEVICE_NOT_FOUND = "DEVICE_NOT_FOUND"
    #: Check the integration's fields and edit it (the reason says what the receiver answered).
    FAILED = "FAILED"


@strawberry.type(description="The outcome of a synchronisation, or why it was refused.")
class IntegrationSynchronisePayload:
    result: SynchroniseResult | None = strawberry.field(description="The outcome; null when refused.")
    reason: str | None = strawberry.field(description="Why it FAILED; null otherwise.")
    run: IntegrationRun | None = strawberry.field(description="The run recorded in the history.")
    integration: Integration | None = strawberry.field(description="The integration afterwards.")
    errors: list[MeteringError] = strawberry.field(description="Why it was refused (nothing was sent).")


KIND_INPUTS = ("email", "webhook", "city_portal", "state_housing", "utility")


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def kind_fields(input: Any, kind: mt.IntegrationKind | None) -> dict[str, Any] | None:
    """The fields object given (camelCase keys, as fields.py reads them), None when none is; DomainError when
    another kind's is given, or several."""
    given = [name for name in KIND_INPUTS if getattr(input, name) is not None]
    if not given:
        return None
    if len(given) > 1 or (kind is not None and _camel(given[0]) != INPUT_FIELD[kind]):
        raise DomainError(Code.INVALID, "Give only the fields object of the integration's kind.", _camel(given[-1]))
    return {_camel(key): value for key, value in vars(getattr(input, given[0])).items()}


def integration_payload(row: mt.Integration) -> IntegrationPayload:
    return IntegrationPayload(integration=Integration.from_model(row), errors=[])


def _pk(global_id: str, type_name: str, argument: str) -> int:
    pk = decode_id(global_id, type_name)
    if pk is None:
        raise BadUserInput(f"Not a {type_name} ID.", argument=argument)
    return pk


@strawberry.type
class IntegrationQuery:
    @strawberry.field(
        description="A metering point's integrations, oldest first (empty for a point you do not see).",
        permission_classes=[needs(Permission.METERING_READ)],
    )
    async def integrations(
        self,
        info: Info,
        metering_point_id: Annotated[strawberry.ID, strawberry.argument(description="The metering point.")],
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Integration]:
        pk = _pk(metering_point_id, "MeteringPoint", "meteringPointId")
        statement = select(Itg).where(Itg.metering_point_id == pk, integration_visible(require_principal(info.context)))
        return await paginate(
            info.context,
            statement,
            [SortKey(Itg.id)],
            Integration.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="An integration's runs, newest first (empty for an integration you do not see).",
        permission_classes=[needs(Permission.METERING_READ)],
    )
    async def integration_runs(
        self,
        info: Info,
        integration_id: Annotated[strawberry.ID, strawberry.argument(description="The integration.")],
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[IntegrationRun]:
        pk = _pk(integration_id, "Integration", "integrationId")
        visible = select(Itg.id).where(Itg.id == pk, integration_visible(require_principal(info.context)))
        statement = select(R).where(R.integration_id.in_(visible))
        return await paginate(
            info.context,
            statement,
            [SortKey(R.id, descending=True)],
            IntegrationRun.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
        )


@strawberry.type
class IntegrationMutation:
    @strawberry.mutation(
        description="Create an integration of a metering point. CITY_PORTAL, STATE_HOUSING and UTILITY need the "
        "point's personal account number (ACCOUNT_NUMBER_REQUIRED).",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def integration_create(self, info: Info, input: IntegrationCreateInput) -> IntegrationPayload:
        kind = mt.IntegrationKind(input.kind)

        async def create(session: AsyncSession) -> mt.Integration:
            return await create_integration(
                session,
                info.context,
                input.metering_point_id,
                kind=kind,
                next_transfer_date=input.next_transfer_date,
                periodicity=PeriodicityValue(input.periodicity),
                time_of_day=input.time_of_day,
                enabled=input.enabled,
                fields=kind_fields(input, kind),
            )

        return await mutate(info.context, IntegrationPayload, create, integration_payload)

    @strawberry.mutation(
        description="Change an integration's schedule, fields or enabled flag; the schedule restarts from the next "
        'transfer date, and a daily "device not found" retry stops.',
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def integration_update(self, info: Info, input: IntegrationUpdateInput) -> IntegrationPayload:
        async def update(session: AsyncSession) -> mt.Integration:
            existing, _ = await visible_integration(session, info.context, input.id, "id")
            return await update_integration(
                session,
                info.context,
                input.id,
                next_transfer_date=unset_if_null(input.next_transfer_date),
                periodicity=unset_if_null(input.periodicity),
                time_of_day=UNSET if input.time_of_day is strawberry.UNSET else input.time_of_day,
                enabled=unset_if_null(input.enabled),
                fields=kind_fields(input, mt.IntegrationKind(existing.kind)),
            )

        return await mutate(info.context, IntegrationPayload, update, integration_payload)

    @strawberry.mutation(
        description="Delete an integration with its history; a transfer in the queue is dropped.",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def integration_delete(self, info: Info, input: IntegrationIdInput) -> IntegrationDeletePayload:
        return await mutate(
            info.context,
            IntegrationDeletePayload,
            lambda s: delete_integration(s, info.context, input.id),
            lambda _: IntegrationDeletePayload(deleted_id=input.id, errors=[]),
        )

    @strawberry.mutation(
        description="Send the latest reading now, through the integration's adapter, and record the run. "
        "DEVICE_NOT_FOUND is no error: the management company has not registered the meter with the city portal "
        "yet, and the system tries again daily; FAILED: check and edit the integration.",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def integration_synchronise(self, info: Info, input: IntegrationIdInput) -> IntegrationSynchronisePayload:
        context = info.context

        async def start(session: AsyncSession) -> tuple[int, int]:
            integration, point = await visible_integration(session, context, input.id, "id", lock=True)
            today = utcnow().astimezone(schedule_of(integration, point.time_zone).zone).date()
            run = R(integration_id=integration.id, period=today, trigger="SYNCHRONISE", status=mt.RunStatus.PENDING)
            session.add(run)
            await session.flush()
            return integration.id, run.id

        started = await run_in_transaction(context, start)
        if isinstance(started, DomainError):
            return refused(IntegrationSynchronisePayload, started)
        integration_id, run_id = started
        status, error = await adapters.attempt(
            context.runtime, key=f"integration:{integration_id}:synchronise:{run_id}", final=True, run_id=run_id
        )
        async with context.runtime.session_factory() as session:
            run = await session.get(R, run_id)
            integration = await session.get(Itg, integration_id)
        return IntegrationSynchronisePayload(
            result=SynchroniseResult[status.value],
            reason=error if status is mt.RunStatus.FAILED else None,
            run=IntegrationRun.from_model(run) if run is not None else None,
            integration=Integration.from_model(integration) if integration is not None else None,
            errors=[],
        )


NODE_RESOLVERS = {
    "Integration": (Permission.METERING_READ, node_loader(visible_integrations, Integration.from_model)),
}
