"""Local network demo data (Domain.demo): IntegraDemo's default network, copied to its locations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import portal as pt
from models import remote as r
from resolvers.remote.local_network.rules import copy_defaults

DEMO_NETWORK = ("192.168.1.0/24", "192.168.1.1", ["192.168.1.1", "9.9.9.9"])


async def seed_demo_local_network(session: AsyncSession, tenants: DemoTenants) -> None:
    """IntegraDemo's defaults (192.168.1.0/24, as its routers are set up), and the copy each of its locations gets."""
    integra = tenants.organisations["integra"].id
    subnet, gateway, dns_servers = DEMO_NETWORK
    session.add(pt.NetworkDefaults(organisation_id=integra, subnet=subnet, gateway=gateway, dns_servers=dns_servers))
    await session.flush()
    for location in (await session.scalars(select(r.Location).where(r.Location.organisation_id == integra))).all():
        await copy_defaults(session, location)
