"""Acknowledging and clearing alarms (the manual's §21.12): by holders of ALARMS_HANDLE who see the alarm's
location; each is one conditional UPDATE whose returned row decides (two people at once: one wins, the other
is told ALREADY_…), recorded with who and when on the alarm and in the audit events, and an ALARMS event."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from models import alarms as al
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.monitoring.alarms.engine import EVENT_COLUMNS, publish
from resolvers.monitoring.alarms.loaders import alarm_visible
from resolvers.monitoring.errors import MonitoringErrorCode as Code


async def visible_alarm(session: AsyncSession, context: Context, global_id: str, field: str) -> al.Alarm:
    pk = decode_id(global_id, "Alarm")
    alarm = None
    if pk is not None:
        alarm = await session.scalar(select(al.Alarm).where(al.Alarm.id == pk, alarm_visible(context.principal)))
    if alarm is None:
        raise DomainError(Code.NOT_FOUND, "No such alarm.", field)
    return alarm


async def _handle(session: AsyncSession, context: Context, alarm_id: str, kind: str) -> al.Alarm:
    principal = require_principal(context)
    alarm = await visible_alarm(session, context, alarm_id, "id")
    now = utcnow()
    if kind == "ACKNOWLEDGED":
        condition = al.Alarm.acknowledged.is_(False)
        values = {
            "acknowledged": True,
            "acknowledged_at": now,
            "acknowledged_by_id": principal.user_id,
            "acknowledged_by_label": principal.email,
        }
        refusal = DomainError(Code.ALREADY_ACKNOWLEDGED, "The alarm was acknowledged already.", "id")
    else:
        condition = al.Alarm.cleared.is_(False)
        values = {
            "cleared": True,
            "cleared_at": now,
            "cleared_by_id": principal.user_id,
            "cleared_by_label": principal.email,
            "open_key": None,
        }
        refusal = DomainError(Code.ALREADY_CLEARED, "The alarm was cleared already.", "id")
    row = (
        await session.execute(
            update(al.Alarm)
            .where(al.Alarm.id == alarm.id, condition)
            .values(updated_at=now, **values)
            .returning(*EVENT_COLUMNS)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is None:
        raise refusal
    await publish(session, [(kind, row)], now)
    await record(
        session,
        context,
        "alarm.acknowledged" if kind == "ACKNOWLEDGED" else "alarm.cleared",
        organisation_id=alarm.organisation_id,
        target_type="Alarm",
        target_id=alarm.id,
        details={"profile": alarm.profile_name, "severity": alarm.severity.value, "locationId": alarm.location_id},
        location_id=alarm.location_id,
    )
    await session.refresh(alarm)
    return alarm


async def acknowledge_alarm(session: AsyncSession, context: Context, alarm_id: str) -> al.Alarm:
    return await _handle(session, context, alarm_id, "ACKNOWLEDGED")


async def clear_alarm(session: AsyncSession, context: Context, alarm_id: str) -> al.Alarm:
    """Cleared by hand: the alarm is closed; the next activation raises a new one."""
    return await _handle(session, context, alarm_id, "CLEARED")
