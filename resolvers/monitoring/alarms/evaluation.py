"""Alarms evaluated on ingest: the POINTS_STORED handler (resolvers.monitoring.hooks), in the ingest's own
transaction, so a refused batch raises nothing and no console sees an alarm that was rolled back.

Only points that advance their series are evaluated (StoredPoint.advances: later than the series' latest value
before the batch): a late point or one sent again for the same time only changes history, so it never repeats an
open alarm (no occurrence, no UPDATED event, no mail), raises, clears or breaks a pending start.

Per (profile x location x device) that the batch touches (a profile of the location, directly or through
one of its groups, with a filter on a key the batch has for that location device), the newest value of
every key the profile names is the batch's newest point, else the series' latest value. All activation
filters holding raises the alarm (or repeats the open one; a profile with a duration starts a pending
start the timer raises from, resolvers.monitoring.workers.alarm_timer); activation not holding cancels a
pending start, and all clearing filters holding then clears the open alarm. Set-based: a bounded number
of statements per batch, whatever its size.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import delete, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from models import alarms as al
from models import remote as r
from models import telemetry as tel
from models.base import utcnow
from resolvers.monitoring.alarms.engine import CHUNK, Raise, clear_open, dialect_insert, open_key, raise_alarms
from resolvers.monitoring.hooks import StoredPoint

Pair = tuple[int, int | None]  # (location, device)
Values = dict[tuple[int, int | None, str], tuple[datetime | None, float | None]]


@dataclass
class Profile:
    row: al.AlarmProfile
    activation: list[al.AlarmProfileFilter] = field(default_factory=list)
    clearing: list[al.AlarmProfileFilter] = field(default_factory=list)

    @property
    def keys(self) -> set[str]:
        return {f.key for f in self.activation} | {f.key for f in self.clearing}


def holds(condition: al.Condition, value: float | None, threshold: float) -> bool:
    if value is None:
        return False
    if condition is al.Condition.GT:
        return value > threshold
    if condition is al.Condition.LT:
        return value < threshold
    same = math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-12)
    return same if condition is al.Condition.EQ else not same


def all_hold(filters: Sequence[al.AlarmProfileFilter], values: Values, location: int, device: int | None) -> bool:
    return bool(filters) and all(
        holds(f.condition, values.get((location, device, f.key), (None, None))[1], f.value) for f in filters
    )


async def _profiles(session: AsyncSession, location_ids: set[int]) -> tuple[dict[int, Profile], dict[int, set[int]]]:
    """The profiles of these locations (directly or through a location group) with their filters: one
    statement. Returns profiles by id and profile ids by location."""
    applies = union(
        select(al.AlarmProfileLocation.profile_id, al.AlarmProfileLocation.location_id).where(
            al.AlarmProfileLocation.location_id.in_(location_ids)
        ),
        select(al.AlarmProfileLocationGroup.profile_id, r.LocationGroupLocation.location_id)
        .join(r.LocationGroupLocation, r.LocationGroupLocation.group_id == al.AlarmProfileLocationGroup.group_id)
        .where(r.LocationGroupLocation.location_id.in_(location_ids)),
    ).subquery()
    rows = (
        await session.execute(
            select(applies.c.location_id, al.AlarmProfile, al.AlarmProfileFilter)
            .join(al.AlarmProfile, al.AlarmProfile.id == applies.c.profile_id)
            .join(al.AlarmProfileFilter, al.AlarmProfileFilter.profile_id == al.AlarmProfile.id)
            .order_by(al.AlarmProfileFilter.id)
        )
    ).all()
    profiles: dict[int, Profile] = {}
    by_location: dict[int, set[int]] = defaultdict(set)
    seen: set[int] = set()
    for location_id, profile, condition in rows:
        by_location[location_id].add(profile.id)
        found = profiles.setdefault(profile.id, Profile(profile))
        if condition.id in seen:
            continue
        seen.add(condition.id)
        kind = found.activation if condition.kind is al.FilterKind.ACTIVATION else found.clearing
        kind.append(condition)
    return profiles, by_location


async def _values(
    session: AsyncSession, newest: dict[int, StoredPoint], location_ids: set[int], keys: set[str]
) -> Values:
    """Newest value per (location, device, key): the series' latest, unless the batch has a newer point."""
    values: Values = {}
    rows = (
        await session.execute(
            select(
                tel.TelemetrySeries.location_id,
                tel.TelemetrySeries.device_id,
                tel.TelemetrySeries.key,
                tel.TelemetrySeries.last_at,
                tel.TelemetrySeries.last_value,
            ).where(
                tel.TelemetrySeries.location_id.in_(location_ids),
                tel.TelemetrySeries.key.in_(keys),
                tel.TelemetrySeries.last_value.is_not(None),
            )
        )
    ).all()
    for location_id, device_id, key, last_at, last_value in rows:
        # location_id is set: the filter above takes a location's series only, never a meter's (issue 17)
        values[(cast(int, location_id), device_id, key)] = (last_at, last_value)
    for point in newest.values():
        here = (point.location_id, point.device_id, point.key)
        known = values.get(here)
        if known is None or known[0] is None or point.at >= known[0]:
            values[here] = (point.at, point.value)
    return values


@dataclass
class Outcome:
    raises: list[Raise] = field(default_factory=list)
    #: Duration profiles holding: open key -> (raise, since).
    waiting: dict[str, tuple[Raise, datetime]] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    clearing: set[str] = field(default_factory=set)


def _decide(profiles, by_location, touched: dict[Pair, set[str]], since: dict[Pair, datetime], values) -> Outcome:
    outcome = Outcome()
    for (location, device), keys in touched.items():
        for profile_id in by_location.get(location, ()):
            profile = profiles[profile_id]
            if not profile.activation or not (profile.keys & keys):
                continue
            key = open_key(profile_id, location, device)
            if all_hold(profile.activation, values, location, device):
                first = profile.activation[0].key
                given = Raise(
                    profile.row,
                    profile.row.organisation_id,
                    location,
                    device,
                    first,
                    values.get((location, device, first), (None, None))[1],
                )
                if profile.row.duration_seconds:
                    outcome.waiting[key] = (given, since[(location, device)])
                else:
                    outcome.raises.append(given)
                continue
            outcome.broken.add(key)
            if all_hold(profile.clearing, values, location, device):
                outcome.clearing.add(key)
    return outcome


async def _wait_or_repeat(session: AsyncSession, outcome: Outcome) -> None:
    """Duration profiles holding: an open alarm repeats at once, otherwise a pending start is kept (the first
    one stays: the activation holds since then)."""
    if not outcome.waiting:
        return
    already_open = set(
        (await session.scalars(select(al.Alarm.open_key).where(al.Alarm.open_key.in_(outcome.waiting)))).all()
    )
    pending = [(given, since) for key, (given, since) in outcome.waiting.items() if key not in already_open]
    outcome.raises.extend(given for key, (given, _) in outcome.waiting.items() if key in already_open)
    insert = dialect_insert(session)
    for start in range(0, len(pending), CHUNK):  # bounded by SQLite's bound parameters per statement
        await session.execute(
            insert(al.AlarmPending)
            .values(
                [
                    {
                        "profile_id": given.profile.id,
                        "location_id": given.location_id,
                        "device_id": given.device_id,
                        "pending_key": given.open_key,
                        "since": since,
                        "last_key": given.key,
                        "last_value": given.value,
                    }
                    for given, since in pending[start : start + CHUNK]
                ]
            )
            .on_conflict_do_update(
                index_elements=[al.AlarmPending.pending_key],
                set_={"last_value": insert(al.AlarmPending).excluded.last_value},
            )
        )


async def evaluate_points(session: AsyncSession, points: Sequence[StoredPoint]) -> None:
    """The POINTS_STORED handler (see the module's docstring)."""
    newest: dict[int, StoredPoint] = {}
    for point in points:
        if not point.advances:  # late or re-sent: history only, the alarm saw its series' newer value already
            continue
        known = newest.get(point.series_id)
        if known is None or point.at >= known.at:
            newest[point.series_id] = point
    if not newest:
        return
    touched: dict[Pair, set[str]] = defaultdict(set)
    since: dict[Pair, datetime] = {}
    for point in newest.values():
        pair = (point.location_id, point.device_id)
        touched[pair].add(point.key)
        since[pair] = max(since.get(pair, point.at), point.at)
    location_ids = {location for location, _ in touched}
    profiles, by_location = await _profiles(session, location_ids)
    if not profiles:
        return
    keys = set().union(*(profile.keys for profile in profiles.values()))
    values = await _values(session, newest, location_ids, keys)
    outcome = _decide(profiles, by_location, touched, since, values)
    now = utcnow()
    await _wait_or_repeat(session, outcome)
    if outcome.broken:
        await session.execute(delete(al.AlarmPending).where(al.AlarmPending.pending_key.in_(outcome.broken)))
    await raise_alarms(session, outcome.raises, now)
    await clear_open(session, outcome.clearing, now)
