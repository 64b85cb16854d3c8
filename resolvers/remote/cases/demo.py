"""The cases demo (Domain.demo, after the remote access demo): IntegraDemo's default statuses and activity
types, a closed case at Pumpstation Nord about its HMI with three calls by Erika and the admin, and an open
case at Wasserwerk Süd waiting on the customer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import cases as cs
from models import remote as r
from models.base import utcnow
from resolvers.remote.case_settings.defaults import ensure_defaults
from resolvers.remote.demo import DEMO_ADMIN, ERIKA

#: (location, device or None, opened by, days ago, description, calls: (hours after start, minutes, activity
#: type, status, by whom, description))
DEMO_CASES = (
    (
        "Pumpstation Nord",
        "HMI Pumpe 1",
        ERIKA,
        6,
        "HMI Pumpe 1 zeigt sporadisch keine Druckwerte.",
        (
            (0, 45, "Malfunction", "Waiting on us", ERIKA, "Fehlerbild aufgenommen, Logs gesichert."),
            (26, 30, "Software update", "Waiting on customer", DEMO_ADMIN, "Firmware des Panels aktualisiert."),
            (50, 15, "Checking", "Closed", ERIKA, "Kunde bestätigt: Druckwerte stabil."),
        ),
    ),
    (
        "Wasserwerk Süd",
        None,
        DEMO_ADMIN,
        1,
        "Einweisung neuer Schichtleiter in den Fernzugriff.",
        ((2, 60, "Guidance", "Waiting on customer", DEMO_ADMIN, "Zugang erklärt; Rückmeldung des Kunden offen."),),
    ),
)


async def seed_demo_cases(session: AsyncSession, tenants: DemoTenants) -> None:
    integra = tenants.organisations["integra"].id
    await ensure_defaults(session, integra)
    statuses = dict(
        (
            await session.execute(
                select(cs.CaseStatus.name, cs.CaseStatus.id).where(cs.CaseStatus.organisation_id == integra)
            )
        ).all()
    )
    types = dict(
        (
            await session.execute(
                select(cs.ActivityType.name, cs.ActivityType.id).where(cs.ActivityType.organisation_id == integra)
            )
        ).all()
    )
    locations = dict(
        (
            await session.execute(select(r.Location.name, r.Location.id).where(r.Location.organisation_id == integra))
        ).all()
    )
    devices = dict((await session.execute(select(r.LocationDevice.name, r.LocationDevice.id))).all())
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for location, device, opener, days, description, calls in DEMO_CASES:
        start = now - timedelta(days=days)
        case = cs.Case(
            organisation_id=integra,
            location_id=locations[location],
            device_id=devices[device] if device else None,
            user_id=tenants.users[opener],
            status_id=statuses[calls[-1][3]],  # the last call's status (a call sets the case's status)
            started_at=start,
            description=description,
        )
        session.add(case)
        await session.flush()
        session.add_all(
            cs.CaseCall(
                case_id=case.id,
                started_at=start + timedelta(hours=hours),
                duration_minutes=minutes,
                activity_type_id=types[activity],
                status_id=statuses[status],
                user_id=tenants.users[user],
                description=text,
            )
            for hours, minutes, activity, status, user, text in calls
        )
    await session.flush()
