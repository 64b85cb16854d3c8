"""Duration alarms: raise those whose activation has held for the profile's duration (a pending start
older than it). A value breaking the activation deletes the pending start on ingest, so a start still
present has held throughout; DELETE ... RETURNING claims the due starts, so two server processes never
raise one twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select

from graph.workers import PeriodicTask, transaction
from models import alarms as al
from models import remote as r
from models.base import utcnow
from resolvers.monitoring.alarms.engine import Raise, raise_alarms

log = logging.getLogger("fleetgraph.monitoring.alarm_timer")

#: Pending starts raised per transaction.
CHUNK = 500


async def _due(session, now: datetime) -> list[int]:
    """Pending starts that have held for their profile's duration, oldest first, at most CHUNK. Due per duration
    in SQL: the oldest starts of day-long profiles must not crowd out minute-long ones."""
    durations = (
        await session.scalars(
            select(al.AlarmProfile.duration_seconds)
            .where(al.AlarmProfile.id.in_(select(al.AlarmPending.profile_id)))
            .distinct()
        )
    ).all()
    due_now = [
        and_(al.AlarmProfile.duration_seconds == seconds, al.AlarmPending.since <= now - timedelta(seconds=seconds))
        for seconds in durations
        if seconds
    ]
    if not due_now:
        return []
    return list(
        (
            await session.scalars(
                select(al.AlarmPending.id)
                .join(al.AlarmProfile, al.AlarmProfile.id == al.AlarmPending.profile_id)
                .where(or_(*due_now))
                .order_by(al.AlarmPending.since)
                .limit(CHUNK)
            )
        ).all()
    )


async def raise_due(runtime: Any, now: datetime) -> int:
    """One round: returns how many alarms were raised or repeated."""
    async with transaction(runtime) as session:
        due = await _due(session, now)
        if not due:
            return 0
        claimed = (
            await session.execute(
                delete(al.AlarmPending)
                .where(al.AlarmPending.id.in_(due))
                .returning(
                    al.AlarmPending.profile_id,
                    al.AlarmPending.location_id,
                    al.AlarmPending.device_id,
                    al.AlarmPending.last_key,
                    al.AlarmPending.last_value,
                )
            )
        ).all()
        profiles = {
            row.id: row
            for row in (
                await session.scalars(select(al.AlarmProfile).where(al.AlarmProfile.id.in_({c[0] for c in claimed})))
            ).all()
        }
        organisations = dict(
            (
                await session.execute(
                    select(r.Location.id, r.Location.organisation_id).where(r.Location.id.in_({c[1] for c in claimed}))
                )
            ).all()
        )
        raises = [
            Raise(profiles[profile_id], organisations[location_id], location_id, device_id, key, value)
            for profile_id, location_id, device_id, key, value in claimed
            if profile_id in profiles and location_id in organisations
        ]
        await raise_alarms(session, raises, now)
    return len(raises)


class AlarmTimer(PeriodicTask):
    """Every alarm_timer_seconds: raise the duration alarms that are due."""

    name = "alarm timer"
    log = log

    def interval(self) -> float:
        return self.runtime.settings.alarm_timer_seconds

    async def run_round(self) -> None:
        raised = await raise_due(self.runtime, utcnow())
        if raised:
            log.info("%d duration alarm(s) raised", raised)
