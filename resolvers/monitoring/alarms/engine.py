"""Raising, repeating and clearing alarms in sets, and the ALARMS events that go out after the commit.

The database decides under concurrency: an alarm is raised by INSERT ... ON CONFLICT (open_key) DO UPDATE,
so two ingests of the same profile x location device at once make one open alarm with two occurrences; it
is cleared by one UPDATE that also frees its open_key. Every function here runs a bounded number of
statements whatever the number of alarms (the ingest of a 10,000-point batch calls them once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import publish_after_commit
from models import alarms as al
from models import identity as m
from models import remote as r
from resolvers.monitoring.alarms.notifications import mail_alarm_changes
from subscriptions import channels

#: Alarms per INSERT: 14 parameters each stay below SQLite's limit of bound parameters per statement.
CHUNK = 1000


def open_key(profile_id: int, location_id: int, device_id: int | None) -> str:
    return f"{profile_id}:{location_id}:{device_id or 0}"


@dataclass(frozen=True)
class Raise:
    """An activation that holds now: raises the alarm, or repeats the open one."""

    profile: al.AlarmProfile
    organisation_id: int
    location_id: int
    device_id: int | None
    key: str | None = None
    value: float | None = None

    @property
    def open_key(self) -> str:
        return open_key(self.profile.id, self.location_id, self.device_id)


def dialect_insert(session: AsyncSession):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


async def raise_alarms(session: AsyncSession, raises: Sequence[Raise], now: datetime) -> None:
    """One statement per CHUNK alarms: new alarms for those without an open one, a repeat (occurrences + 1,
    last value, updated time) for the others; a RAISED or UPDATED event each."""
    for start in range(0, len(raises), CHUNK):
        await _raise_chunk(session, raises[start : start + CHUNK], now)


async def _raise_chunk(session: AsyncSession, raises: Sequence[Raise], now: datetime) -> None:
    if not raises:
        return
    insert = dialect_insert(session)
    statement = insert(al.Alarm).values(
        [
            {
                "organisation_id": given.organisation_id,
                "profile_id": given.profile.id,
                "profile_name": given.profile.name,
                "severity": given.profile.severity,
                "location_id": given.location_id,
                "device_id": given.device_id,
                "open_key": given.open_key,
                "raised_at": now,
                "updated_at": now,
                "occurrences": 1,
                "last_key": given.key,
                "last_value": given.value,
                "acknowledged": False,
                "cleared": False,
            }
            for given in raises
        ]
    )
    statement = statement.on_conflict_do_update(
        index_elements=[al.Alarm.open_key],
        set_={
            "occurrences": al.Alarm.occurrences + 1,
            "last_value": statement.excluded.last_value,
            "updated_at": statement.excluded.updated_at,
        },
    ).returning(*EVENT_COLUMNS)
    rows = (await session.execute(statement, execution_options={"synchronize_session": False})).all()
    await publish(session, [("RAISED" if row.occurrences == 1 else "UPDATED", row) for row in rows], now)


#: What an event says about its alarm.
EVENT_COLUMNS = (
    al.Alarm.id,
    al.Alarm.organisation_id,
    al.Alarm.location_id,
    al.Alarm.profile_id,
    al.Alarm.severity,
    al.Alarm.acknowledged,
    al.Alarm.cleared,
    al.Alarm.occurrences,
)


async def clear_open(session: AsyncSession, keys: Iterable[str], now: datetime) -> None:
    """Clear the open alarms of these open keys automatically (cleared by nobody); a CLEARED event each."""
    keys = list(keys)
    if not keys:
        return
    rows = (
        await session.execute(
            update(al.Alarm)
            .where(al.Alarm.open_key.in_(keys))
            .values(cleared=True, cleared_at=now, updated_at=now, open_key=None)
            .returning(*EVENT_COLUMNS)
            .execution_options(synchronize_session=False)
        )
    ).all()
    await publish(session, [("CLEARED", row) for row in rows], now)


async def publish(session: AsyncSession, changed: Sequence[tuple[str, object]], now: datetime) -> None:
    """An ALARMS event per (kind, row of EVENT_COLUMNS); one statement for the locations' paths."""
    if not changed:
        return
    location_ids = {row.location_id for _, row in changed}  # type: ignore[attr-defined]
    paths = dict(
        (
            await session.execute(
                select(r.Location.id, m.Organisation.path)
                .join(m.Organisation, m.Organisation.id == r.Location.organisation_id)
                .where(r.Location.id.in_(location_ids))
            )
        ).all()
    )
    await mail_alarm_changes(session, changed, now)
    for kind, row in changed:
        publish_after_commit(session, channels.ALARMS, alarm_event(kind, row, now, paths.get(row.location_id, "")))  # type: ignore[attr-defined]


def alarm_event(kind: str, row, at: datetime, path: str) -> dict:
    state = f"{'CLEARED' if row.cleared else 'ACTIVE'}_{'ACK' if row.acknowledged else 'UNACK'}"
    return {
        "kind": kind,
        "alarm": row.id,
        "location": row.location_id,
        "profile": row.profile_id,
        "severity": str(row.severity),
        "state": state,
        "at": at.isoformat(),
        "organisationPath": path,
    }
