"""Demo data of fault and standstill notifications (issue 18): the maintenance team of IntegraDemo is told when
the reporting router at Pumpstation Nord reports a fault or its machine stands still (the demo simulator
reports one now and then), and when that ends."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import remote as r
from resolvers.remote.demo import DEMO_ADMIN, REPORTING_ROUTERS

DEMO_CONDITION_PROFILE = "Instandhaltung"
DEMO_CONDITION_EMAIL = "instandhaltung@integra-metering.com"


async def seed_demo_condition_profile(session: AsyncSession, tenants: DemoTenants) -> None:
    integra = tenants.organisations["integra"].id
    location_id = await session.scalar(
        select(r.Location.id)
        .join(r.Router, r.Router.id == r.Location.router_id)
        .where(r.Router.common_name == REPORTING_ROUTERS[0])
    )
    assert location_id is not None  # seed_demo_remote placed it (it runs first)
    profile = r.NotificationProfile(
        organisation_id=integra,
        name=DEMO_CONDITION_PROFILE,
        offline_minutes=15,
        on_offline=False,
        on_fault=True,
        on_standstill=True,
    )
    session.add(profile)
    await session.flush()
    session.add_all(
        [
            r.NotificationProfileUser(profile_id=profile.id, user_id=tenants.users[DEMO_ADMIN]),
            r.NotificationProfileEmail(profile_id=profile.id, email=DEMO_CONDITION_EMAIL),
            r.NotificationProfileLocation(profile_id=profile.id, location_id=location_id),
        ]
    )
    await session.flush()
