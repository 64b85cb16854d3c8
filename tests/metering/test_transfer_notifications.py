"""Integrations and notifications together: a scheduled transfer that is delivered, or given up on, reaches the
point's subscribers as a TRANSFER_RESULT mail at their confirmed contact addresses (the parts' own tests call the
hook by hand or only record it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from sqlalchemy import select

from graph.relay import to_global_id
from models import identity as m
from models import metering as mt
from models.base import utcnow
from models.mail import OutboxMessage, TemplateType
from resolvers.metering.integrations.scheduler import schedule_due
from tests.metering.integrations_helpers import Receiver, add_integration, deliver_everything, seed_points, serve
from tests.metering.notifications_helpers import SUBSCRIBE


async def transfer_results(runtime) -> list[tuple[str, str]]:
    async with runtime.session_factory() as session:
        rows = await session.execute(
            select(OutboxMessage.to_address, OutboxMessage.subject)
            .where(OutboxMessage.template_type == TemplateType.TRANSFER_RESULT)
            .order_by(OutboxMessage.id)
        )
        return [tuple(row) for row in rows]


async def test_a_delivered_and_a_failed_transfer_each_mail_the_subscriber(runtime, world, gql):
    seeded = await seed_points(runtime, world)
    async with runtime.session_factory() as session, session.begin():
        anna = await session.scalar(select(m.User).where(m.User.email == "anna@consumers.example"))
        session.add_all(
            [
                m.ContactEmail(user_id=anna.id, email="anna.home@example.org", confirmed_at=utcnow()),
                m.ContactEmail(user_id=anna.id, email="anna.unconfirmed@example.org"),
            ]
        )
    point = to_global_id("MeteringPoint", seeded.points["anna"])
    subscribed = await gql(SUBSCRIBE, {"input": {"meteringPointId": point}}, token=seeded.tokens["anna"])
    assert subscribed["data"]["meteringPointSubscribe"]["errors"] == []

    receiver = Receiver(script=["bad"])  # the first period is refused for good (422), the next one accepted
    settings = replace(runtime.settings, forwarding_private_addresses=True, delivery_timeout_seconds=2.0)
    async with serve(receiver.app()) as url:
        await add_integration(
            runtime, seeded.points["anna"], mt.IntegrationKind.WEBHOOK, {"url": f"{url}/hook"}, first=date(2031, 3, 1)
        )
        for day in (1, 2):  # 10:00 in Moscow
            assert await schedule_due(runtime, datetime(2031, 3, day, 7, tzinfo=UTC)) == 1
            await deliver_everything(runtime, settings)

    results = await transfer_results(runtime)
    # one mail per outcome, to the confirmed address only: the failure first, then the delivery
    assert [address for address, _ in results] == ["anna.home@example.org", "anna.home@example.org"]
    assert len({subject for _, subject in results}) == 2
