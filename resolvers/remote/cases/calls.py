"""Calls in a case: log and edit them (rules; see resolvers.remote.cases.rules for the decisions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.db import lock_row
from graph.errors import DomainError
from graph.relay import decode_id, to_global_id
from graph.rules import UNSET
from models import cases as cs
from resolvers.remote.cases.loaders import call_visible
from resolvers.remote.cases.rules import (
    activity_type_of,
    clean_description,
    clean_minutes,
    clean_start,
    ensure_open,
    record_case_event,
    status_of,
    visible_case,
)
from resolvers.remote.errors import RemoteErrorCode as Code


async def create_call(
    session: AsyncSession,
    context: Context,
    *,
    case_id: str,
    started_at: datetime | None,
    duration_minutes: int,
    activity_type_id: str,
    status_id: str | None,
    description: str | None,
) -> cs.CaseCall:
    """A new call; its status (default: the case's) becomes the case's."""
    start = clean_start(started_at, "startedAt")
    minutes = clean_minutes(duration_minutes)
    text = clean_description(description)
    case = await visible_case(session, context, case_id, "caseId")
    try:
        await ensure_open(session, case)
    except DomainError as error:
        raise DomainError(error.code, error.message, "caseId") from None
    activity = await activity_type_of(session, case.organisation_id, activity_type_id)
    status_pk = case.status_id
    if status_id is not None:
        status_pk = (await status_of(session, case.organisation_id, status_id, "statusId")).id
    principal = context.principal
    call = cs.CaseCall(
        case_id=case.id,
        started_at=start,
        duration_minutes=minutes,
        activity_type_id=activity.id,
        status_id=status_pk,
        user_id=principal.user_id if principal else None,
        description=text,
    )
    session.add(call)
    case.status_id = status_pk
    await session.flush()
    details = {"case": to_global_id("Case", case.id), "minutes": minutes, "activityType": activity.name}
    await record_case_event(session, context, "case_call.created", case, "CaseCall", call.id, details)
    return call


async def update_call(
    session: AsyncSession,
    context: Context,
    call_id: str,
    *,
    started_at=UNSET,
    duration_minutes=UNSET,
    activity_type_id=UNSET,
    status_id=UNSET,
    description=UNSET,
) -> cs.CaseCall:
    """Fields left out (or null) stay; a new status becomes the case's too."""
    pk = decode_id(call_id, "CaseCall")
    call = None
    # the call locked before it is read (see visible_case), then its case
    if pk is not None and await lock_row(session, cs.CaseCall, pk):
        call = await session.scalar(select(cs.CaseCall).where(cs.CaseCall.id == pk, call_visible(context.principal)))
    if call is None:
        raise DomainError(Code.NOT_FOUND, "No such call.", "id")
    case = await visible_case(session, context, to_global_id("Case", call.case_id), "id")
    await ensure_open(session, case)
    changes: dict[str, Any] = {}
    if started_at not in (UNSET, None):
        changes["started_at"] = clean_start(started_at, "startedAt")
    if duration_minutes not in (UNSET, None):
        changes["duration_minutes"] = clean_minutes(duration_minutes)
    if description not in (UNSET, None):
        changes["description"] = clean_description(description)
    if activity_type_id not in (UNSET, None):
        changes["activity_type_id"] = (await activity_type_of(session, case.organisation_id, activity_type_id)).id
    if status_id not in (UNSET, None):
        changes["status_id"] = (await status_of(session, case.organisation_id, status_id, "statusId")).id
        case.status_id = changes["status_id"]
    changed = sorted(key for key, value in changes.items() if getattr(call, key) != value)
    for key in changed:
        setattr(call, key, changes[key])
    await session.flush()
    if changed:
        await record_case_event(session, context, "case_call.updated", case, "CaseCall", call.id, {"fields": changed})
    return call
