"""Cases and calls (the manual's Case & Call): create and edit, with CASES_MANAGE at a location one sees.

Decisions where the manual is silent:
- A case belongs to its location's organisation; its statuses and activity types are that organisation's.
- A call sets the case's status (the manual's client logs a call with a status): creating a call, or changing a
  call's status, gives the case that status. The case's own status can be set too (caseUpdate).
- A case whose status closes it is final: caseUpdate, callCreate and callUpdate answer CASE_CLOSED. The change
  that closes it is the last one allowed. The case row is locked first, so a close and a new call serialise.
- Time worked is derived: the sum of the calls' durations (never stored, so it cannot drift).
- Another tenant's case, location, device, status or activity type reads like an unknown one (NOT_FOUND).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.db import lock_row
from graph.errors import DomainError
from graph.relay import decode_id
from graph.rules import UNSET, clean_text
from models import cases as cs
from models import remote as r
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.remote.case_settings.defaults import ensure_defaults
from resolvers.remote.cases.loaders import case_visible
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.scope import visible_location

MAX_DESCRIPTION = 4000
#: A call is at most a week of work.
MAX_MINUTES = 7 * 24 * 60
#: Work is logged after the fact; a start this far ahead is a typing error.
MAX_AHEAD = timedelta(days=1)


def clean_description(value: str | None) -> str:
    return clean_text(value, "description", max_length=MAX_DESCRIPTION, required=False)


def clean_start(value: datetime | None, field: str) -> datetime:
    if value is None:
        return utcnow()
    if value.tzinfo is None:
        raise DomainError(Code.INVALID, "A time with its UTC offset is required.", field)
    if value.year < 2000 or value > utcnow() + MAX_AHEAD:
        raise DomainError(Code.INVALID, "The start is not a plausible time (at most a day ahead).", field)
    return value


def clean_minutes(value: int) -> int:
    if not 0 <= value <= MAX_MINUTES:
        raise DomainError(Code.INVALID, f"A duration is between 0 and {MAX_MINUTES} minutes.", "durationMinutes")
    return value


async def visible_case(session: AsyncSession, context: Context, global_id: str, field: str) -> cs.Case:
    """A case at a location the caller sees, locked for the change."""
    pk = decode_id(global_id, "Case")
    case = None
    # locked before it is read: a close and a new call (or two closing calls) serialise, and the second sees the
    # first's status (a no-op UPDATE: PostgreSQL's row lock, SQLite's write lock; it changes nothing)
    if pk is not None and await lock_row(session, cs.Case, pk):
        case = await session.scalar(select(cs.Case).where(cs.Case.id == pk, case_visible(context.principal)))
    if case is None:
        raise DomainError(Code.NOT_FOUND, "No such case.", field)
    return case


async def _of_organisation(session: AsyncSession, model: Any, kind: str, organisation_id: int, global_id, field):
    """A status or activity type of the case's organisation; any other reads like an unknown one."""
    pk = decode_id(global_id, kind)
    row = None
    if pk is not None:
        row = await session.scalar(select(model).where(model.id == pk, model.organisation_id == organisation_id))
    if row is None:
        words = "case status" if kind == "CaseStatus" else "activity type"
        raise DomainError(Code.NOT_FOUND, f"No such {words} of the case's organisation.", field)
    return row


async def status_of(session: AsyncSession, organisation_id: int, global_id: str, field: str) -> cs.CaseStatus:
    return await _of_organisation(session, cs.CaseStatus, "CaseStatus", organisation_id, global_id, field)


async def activity_type_of(session: AsyncSession, organisation_id: int, global_id: str) -> cs.ActivityType:
    return await _of_organisation(
        session, cs.ActivityType, "ActivityType", organisation_id, global_id, "activityTypeId"
    )


async def device_of(session: AsyncSession, location_id: int, global_id: str | None) -> int | None:
    """A device of the case's location (or None for none)."""
    if global_id is None:
        return None
    pk = decode_id(global_id, "LocationDevice")
    device = None
    if pk is not None:
        device = await session.scalar(
            select(r.LocationDevice.id).where(r.LocationDevice.id == pk, r.LocationDevice.location_id == location_id)
        )
    if device is None:
        raise DomainError(Code.NOT_FOUND, "No such device at the case's location.", "deviceId")
    return device


async def default_status(session: AsyncSession, organisation_id: int) -> cs.CaseStatus:
    """The first status that leaves a case open (Open, by default)."""
    await ensure_defaults(session, organisation_id)
    status = await session.scalar(
        select(cs.CaseStatus)
        .where(cs.CaseStatus.organisation_id == organisation_id, cs.CaseStatus.closes_case.is_(False))
        .order_by(cs.CaseStatus.sequence, cs.CaseStatus.name)
        .limit(1)
    )
    if status is None:
        raise DomainError(Code.REQUIRED, "The organisation has no open status: name one.", "statusId")
    return status


async def ensure_open(session: AsyncSession, case: cs.Case) -> None:
    status = await session.get(cs.CaseStatus, case.status_id)
    if status is not None and status.closes_case:
        raise DomainError(Code.CASE_CLOSED, f"The case is closed ({status.name}): it can no longer be changed.", "id")


async def record_case_event(session, context, action: str, case: cs.Case, target: str, target_id: int, details) -> None:
    await record(
        session,
        context,
        action,
        organisation_id=case.organisation_id,
        target_type=target,
        target_id=target_id,
        details=details,
        location_id=case.location_id,
    )


async def create_case(
    session: AsyncSession,
    context: Context,
    *,
    location_id: str,
    device_id: str | None,
    status_id: str | None,
    started_at: datetime | None,
    description: str | None,
) -> cs.Case:
    start = clean_start(started_at, "startedAt")
    text = clean_description(description)
    location = await visible_location(session, context, location_id, "locationId")
    device = await device_of(session, location.id, device_id)
    await ensure_defaults(session, location.organisation_id)
    if status_id is None:
        status = await default_status(session, location.organisation_id)
    else:
        status = await status_of(session, location.organisation_id, status_id, "statusId")
    principal = context.principal
    case = cs.Case(
        organisation_id=location.organisation_id,
        location_id=location.id,
        device_id=device,
        user_id=principal.user_id if principal else None,
        status_id=status.id,
        started_at=start,
        description=text,
    )
    session.add(case)
    await session.flush()
    await record_case_event(session, context, "case.created", case, "Case", case.id, {"status": status.name})
    return case


async def update_case(
    session: AsyncSession,
    context: Context,
    case_id: str,
    *,
    device_id=UNSET,
    status_id=UNSET,
    started_at=UNSET,
    description=UNSET,
) -> cs.Case:
    """Fields left out stay; deviceId null takes the device away."""
    case = await visible_case(session, context, case_id, "id")
    await ensure_open(session, case)
    changes: dict[str, Any] = {}
    if device_id is not UNSET:
        changes["device_id"] = await device_of(session, case.location_id, device_id)
    if status_id is not UNSET and status_id is not None:
        changes["status_id"] = (await status_of(session, case.organisation_id, status_id, "statusId")).id
    if started_at is not UNSET and started_at is not None:
        changes["started_at"] = clean_start(started_at, "startedAt")
    if description is not UNSET and description is not None:
        changes["description"] = clean_description(description)
    changed = sorted(key for key, value in changes.items() if getattr(case, key) != value)
    for key in changed:
        setattr(case, key, changes[key])
    await session.flush()
    if changed:
        await record_case_event(session, context, "case.updated", case, "Case", case.id, {"fields": changed})
    return case
