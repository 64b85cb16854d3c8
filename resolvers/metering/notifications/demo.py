"""The notifications' demo data (Domain.demo): the demo consumer rang the bell of both her points and has a
confirmed contact address, so each demo transfer of the integrations leaves a mail (`fleetgraph mail-preview`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import identity as m
from models import metering as mt
from models.base import utcnow
from resolvers.metering.points.demo import DEMO_CONSUMER

DEMO_CONTACT = "olga.home@consumer.example"


async def seed_demo_notifications(session: AsyncSession, tenants: DemoTenants) -> None:
    consumer_id = tenants.users[DEMO_CONSUMER[1]]
    session.add(m.ContactEmail(user_id=consumer_id, email=DEMO_CONTACT, confirmed_at=utcnow()))
    points = (await session.scalars(select(mt.MeteringPoint.id).where(mt.MeteringPoint.owner_id == consumer_id))).all()
    session.add_all(mt.MeteringPointSubscription(metering_point_id=pk, user_id=consumer_id) for pk in points)
    await session.flush()
