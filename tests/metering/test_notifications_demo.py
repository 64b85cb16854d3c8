"""The demo: the demo consumer rang the bell of both her points and has a confirmed contact address, so a demo
transfer leaves a mail for her in the outbox (what `fleetgraph mail-preview` shows)."""

from __future__ import annotations

from sqlalchemy import select

from graph.composition import DEMO
from graph.demo import seed_demo
from models import identity as m
from models import metering as mt
from models.mail import OutboxMessage, TemplateType
from resolvers.metering.notifications.demo import DEMO_CONTACT
from resolvers.metering.points.demo import DEMO_CONSUMER
from tests.factories import issue_token
from tests.metering.notifications_helpers import finished, transfer


async def test_the_demo_consumer_hears_of_her_points_transfers(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    async with runtime.session_factory() as session, session.begin():
        consumer = await session.scalar(select(m.User).where(m.User.email == DEMO_CONSUMER[1]))
        token = await issue_token(session, consumer)
        points = (await session.scalars(select(mt.MeteringPoint).where(mt.MeteringPoint.owner_id == consumer.id))).all()
    listed = await gql("{ meteringPoints { nodes { subscribed } } }", token=token)
    assert [node["subscribed"] for node in listed["data"]["meteringPoints"]["nodes"]] == [True, True]

    await transfer(runtime, finished(points[0].id, points[0].organisation_id, kind="WEBHOOK"))
    async with runtime.session_factory() as session:
        mails = (await session.execute(select(OutboxMessage.to_address, OutboxMessage.template_type))).all()
    assert mails == [(DEMO_CONTACT, TemplateType.TRANSFER_RESULT)]
