"""Configuration groups' demo data (Domain.demo, after the remote access demo): IntegraDemo's two placed
routers (same model) in one group; the spare router is in none."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import remote as r

DEMO_CONFIGURATION_GROUP = "RUT241 Wasserwerke"


async def seed_demo_configuration_groups(session: AsyncSession, tenants: DemoTenants) -> None:
    integra = tenants.organisations["integra"].id
    group = r.ConfigurationGroup(organisation_id=integra, name=DEMO_CONFIGURATION_GROUP)
    session.add(group)
    await session.flush()
    await session.execute(
        update(r.Router)
        .where(r.Router.organisation_id == integra, r.Router.model == "RUT241")
        .values(configuration_group_id=group.id)
    )
