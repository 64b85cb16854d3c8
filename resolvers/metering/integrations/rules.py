"""Creating, changing and deleting integrations (the only code here that writes from GraphQL)."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import UNSET
from models import metering as mt
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.metering.errors import MeteringErrorCode as Code
from resolvers.metering.integrations.fields import NEED_ACCOUNT, clean_fields, seal_secret
from resolvers.metering.integrations.schedule import Periodicity
from resolvers.metering.integrations.timing import DEFAULT_TIME_OF_DAY, schedule_of, set_next
from resolvers.metering.scope import metering_point_visible, visible_metering_point

Itg = mt.Integration


async def visible_integration(
    session: AsyncSession, context: Context, global_id: str, field: str, *, lock: bool = False
) -> tuple[mt.Integration, mt.MeteringPoint]:
    """An integration of a point the caller sees, with the point, or NOT_FOUND at `field`."""
    pk = decode_id(global_id, "Integration")
    found = None
    if pk is not None:
        statement = (
            select(Itg, mt.MeteringPoint)
            .join(mt.MeteringPoint, mt.MeteringPoint.id == Itg.metering_point_id)
            .where(Itg.id == pk, metering_point_visible(require_principal(context)))
        )
        found = (await session.execute(statement.with_for_update() if lock else statement)).first()
    if found is None:
        raise DomainError(Code.NOT_FOUND, "No such integration.", field)
    return found[0], found[1]


def parse_time_of_day(value: str | None) -> int:
    """Minutes after midnight of "HH:MM" (None: the default)."""
    if value is None:
        return DEFAULT_TIME_OF_DAY.hour * 60 + DEFAULT_TIME_OF_DAY.minute
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value.strip())
    if match is None:
        raise DomainError(Code.INVALID, "A local time of day as HH:MM (00:00 to 23:59).", "timeOfDay")
    return int(match[1]) * 60 + int(match[2])


#: Transfer dates the schedule accepts: far enough either way for any real use, and far from date's limits.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def clean_first_date(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise DomainError(Code.INVALID, f"A date from {EARLIEST} to {LATEST}.", "nextTransferDate")
    return value


def _check_account(kind: mt.IntegrationKind, point: mt.MeteringPoint) -> None:
    if kind in NEED_ACCOUNT and not (point.account_number or "").strip():
        raise DomainError(
            Code.ACCOUNT_NUMBER_REQUIRED,
            "Set the metering point's personal account number before integrating with a settlement centre.",
            "meteringPointId",
        )


async def keep_account_number(session: AsyncSession, point: mt.MeteringPoint) -> None:
    """The point's account number may not be cleared while an enabled integration with a settlement centre needs
    it (the one that could be turned on again without it would be refused by _check_account)."""
    needing = await session.scalar(
        select(Itg.id)
        .where(Itg.metering_point_id == point.id, Itg.enabled.is_(True), Itg.kind.in_(NEED_ACCOUNT))
        .limit(1)
    )
    if needing is not None:
        raise DomainError(
            Code.ACCOUNT_NUMBER_REQUIRED,
            "An integration with a settlement centre needs the personal account number; turn it off first.",
            "accountNumber",
        )


def _apply_fields(context: Context, integration: mt.Integration, data: dict[str, Any] | None) -> None:
    fields = clean_fields(integration.kind, data, integration.settings or {})
    integration.settings = fields.settings
    if fields.secret is not None:
        integration.secret, integration.secret_version = seal_secret(
            context.runtime.sealer, integration.id, fields.secret
        )


async def create_integration(
    session: AsyncSession,
    context: Context,
    point_id: str,
    *,
    kind: mt.IntegrationKind,
    next_transfer_date: date,
    periodicity: Periodicity,
    time_of_day: str | None,
    enabled: bool,
    fields: dict[str, Any] | None,
) -> mt.Integration:
    point = await visible_metering_point(session, context, point_id, "meteringPointId", lock=True)
    _check_account(kind, point)
    integration = Itg(
        organisation_id=point.organisation_id,
        metering_point_id=point.id,
        kind=kind,
        enabled=enabled,
        periodicity=periodicity.value,
        first_date=clean_first_date(next_transfer_date),
        at_minute=parse_time_of_day(time_of_day),
        settings={},
    )
    set_next(integration, point.time_zone, utcnow())
    session.add(integration)
    await session.flush()  # the id binds the sealed secret
    _apply_fields(context, integration, fields)
    await _audit(session, context, "integration.created", integration)
    return integration


async def update_integration(
    session: AsyncSession,
    context: Context,
    integration_id: str,
    *,
    next_transfer_date: Any = UNSET,
    periodicity: Any = UNSET,
    time_of_day: Any = UNSET,
    enabled: Any = UNSET,
    fields: dict[str, Any] | None = None,
) -> mt.Integration:
    """Change what is given; the schedule restarts from the (new) next transfer date, and a daily retry of a
    "device not found" stops: the user edited, as the manual asks after a failure."""
    integration, point = await visible_integration(session, context, integration_id, "id", lock=True)
    if next_transfer_date is not UNSET:
        integration.first_date = clean_first_date(next_transfer_date)
    elif periodicity is not UNSET or time_of_day is not UNSET:
        integration.first_date = integration.next_period  # the next transfer stays where it was
    if periodicity is not UNSET:
        integration.periodicity = Periodicity(periodicity).value
    if time_of_day is not UNSET:
        integration.at_minute = parse_time_of_day(time_of_day)
    if enabled is not UNSET:
        integration.enabled = bool(enabled)
    if integration.enabled:  # turning it off needs no account number (it may have been removed meanwhile)
        _check_account(integration.kind, point)
    _apply_fields(context, integration, fields)
    now = utcnow()
    set_next(integration, point.time_zone, now)
    integration.retry_at = integration.retry_period = None
    integration.updated_at = now
    await _audit(session, context, "integration.updated", integration)
    return integration


async def delete_integration(session: AsyncSession, context: Context, integration_id: str) -> None:
    """Its runs go with it; a queued delivery finds no run and is dropped by its adapter."""
    integration, _ = await visible_integration(session, context, integration_id, "id", lock=True)
    await _audit(session, context, "integration.deleted", integration)
    await session.execute(delete(Itg).where(Itg.id == integration.id))


async def _audit(session: AsyncSession, context: Context, action: str, integration: mt.Integration) -> None:
    await record(
        session,
        context,
        action,
        organisation_id=integration.organisation_id,
        target_type="Integration",
        target_id=integration.id,
        # the kind and schedule only: the fields hold personal data and the secret
        details={
            "kind": integration.kind.value,
            "meteringPointId": integration.metering_point_id,
            "periodicity": integration.periodicity,
            "enabled": integration.enabled,
        },
    )


async def reschedule_point(session: AsyncSession, point: mt.MeteringPoint) -> None:
    """The point's time zone changed: each integration's next transfer keeps its local date and time of day, now
    in the new zone (a moment already past moves on to the next occurrence)."""
    now = utcnow()
    for integration in (await session.scalars(select(Itg).where(Itg.metering_point_id == point.id))).all():
        schedule = schedule_of(integration, point.time_zone)
        due = schedule.due(integration.next_period)
        integration.next_period, integration.next_due_at = (
            (integration.next_period, due) if due > now else schedule.next_after(now)
        )


def time_of_day_text(minute: int) -> str:
    return time(minute // 60, minute % 60).strftime("%H:%M")
