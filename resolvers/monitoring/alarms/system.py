"""System alarm profiles (shipped, read-only, no organisation): a router going offline raises ROUTER_OFFLINE
at its location, coming back online clears it (the ROUTER_ONLINE_CHANGED hook of resolvers.remote)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import alarms as al
from models import remote as r
from resolvers.monitoring.alarms.engine import Raise, clear_open, open_key, raise_alarms

ROUTER_OFFLINE = "ROUTER_OFFLINE"

SYSTEM_PROFILES = {
    ROUTER_OFFLINE: (al.Severity.HIGH, "The location's router went offline; it clears when the router is back."),
}


async def install_system_profiles(session: AsyncSession) -> None:
    """Startup: the shipped profiles, once (their severity and description kept current)."""
    present = {
        row.name: row
        for row in (
            await session.scalars(select(al.AlarmProfile).where(al.AlarmProfile.organisation_id.is_(None)))
        ).all()
    }
    for name, (severity, description) in SYSTEM_PROFILES.items():
        row = present.get(name)
        if row is None:
            session.add(al.AlarmProfile(organisation_id=None, name=name, severity=severity, description=description))
        else:
            row.severity, row.description = severity, description


async def router_online_changed(session: AsyncSession, router_ids: Sequence[int], online: bool, at: datetime) -> None:
    """Raise (offline) or clear (online) the ROUTER_OFFLINE alarm of the routers' locations: three statements."""
    profile = await session.scalar(
        select(al.AlarmProfile).where(al.AlarmProfile.organisation_id.is_(None), al.AlarmProfile.name == ROUTER_OFFLINE)
    )
    if profile is None:  # not installed yet (a database the server never started on)
        return
    locations = (
        await session.execute(
            select(r.Location.id, r.Location.organisation_id).where(r.Location.router_id.in_(list(router_ids)))
        )
    ).all()
    if online:
        await clear_open(session, [open_key(profile.id, location_id, None) for location_id, _ in locations], at)
    else:
        await raise_alarms(
            session,
            [Raise(profile, organisation_id, location_id, None) for location_id, organisation_id in locations],
            at,
        )
