"""The bell: subscribe and unsubscribe (idempotent, only to points one sees), and the mails of a transfer's outcome
to the subscribers' confirmed contact addresses in their language, delivered by a real SMTP server; nothing for a
point nobody subscribed to, one notice per outcome, and a failing notification that leaves the outcome standing."""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, select

from models import forwarding as fw
from models import identity as m
from models import metering as mt
from models.base import utcnow
from models.mail import EmailTemplate, OutboxMessage, TemplateType
from resolvers.mail.workers.delivery import deliver_due
from resolvers.metering.hooks import TRANSFER_FINISHED
from tests.burst import burst
from tests.metering.notifications_helpers import SUBSCRIBE, UNSUBSCRIBE, add_point, finished, transfer
from tests.smtp import smtp_server, smtp_settings


async def call(gql, query: str, values: dict, token: str) -> dict:
    result = await gql(query, {"input": values}, token=token)
    assert "errors" not in result, result
    [payload] = result["data"].values()
    return payload


async def points(runtime, consumers):
    async with runtime.session_factory() as session, session.begin():
        olga = await add_point(session, consumers.users["olga"])
        ivan = await add_point(session, consumers.users["ivan"], "Ivan's kitchen")
    return olga, ivan


async def test_subscribe_is_idempotent_and_only_to_points_one_sees(gql, runtime, consumers, world):
    olga_point, ivan_point = await points(runtime, consumers)
    olga = consumers.tokens["olga"]
    olga_id = {"meteringPointId": _gid(olga_point.id)}
    # eight at once (a double tap on the bell, several devices): all answer subscribed, one subscription is kept
    answers = await burst(runtime, 8, lambda _: call(gql, SUBSCRIBE, olga_id, olga))
    assert all(a == {"meteringPoint": {"id": _gid(olga_point.id), "subscribed": True}, "errors": []} for a in answers)
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(mt.MeteringPointSubscription)) == 1
    # another consumer's point reads like an unknown one, and nothing is stored
    refused = await call(gql, SUBSCRIBE, {"meteringPointId": _gid(ivan_point.id)}, olga)
    assert refused["meteringPoint"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["meteringPointId"])]
    # staff of the consumers' parent organisation see (and may ring) the point; their bell is their own
    staff = await call(gql, SUBSCRIBE, olga_id, world.tokens["admin_a"])
    assert staff["meteringPoint"]["subscribed"] is True
    for _ in range(2):
        answer = await call(gql, UNSUBSCRIBE, olga_id, olga)
        assert answer == {"meteringPoint": {"id": _gid(olga_point.id), "subscribed": False}, "errors": []}
    async with runtime.session_factory() as session:
        rows = (await session.scalars(select(mt.MeteringPointSubscription.user_id))).all()
    assert rows == [world.users["admin_a"].id]


def _gid(pk: int) -> str:
    from graph.relay import to_global_id

    return to_global_id("MeteringPoint", pk)


async def _contacts(runtime, user, confirmed: list[str], unconfirmed: list[str]) -> None:
    async with runtime.session_factory() as session, session.begin():
        for address in confirmed:
            session.add(m.ContactEmail(user_id=user.id, email=address, confirmed_at=utcnow()))
        for address in unconfirmed:
            session.add(m.ContactEmail(user_id=user.id, email=address))


async def test_outcomes_are_mailed_to_confirmed_contact_addresses_in_the_subscribers_language(
    gql, runtime, consumers, world
):
    olga_point, ivan_point = await points(runtime, consumers)
    olga, ivan = consumers.users["olga"], consumers.users["ivan"]
    async with runtime.session_factory() as session, session.begin():
        await session.execute(m.User.__table__.update().where(m.User.id == olga.id).values(language="ru"))
    await _contacts(runtime, olga, ["olga.home@example.org", "olga.work@example.org"], ["olga.new@example.org"])
    await _contacts(runtime, ivan, ["ivan@example.org"], [])
    await call(gql, SUBSCRIBE, {"meteringPointId": _gid(olga_point.id)}, consumers.tokens["olga"])
    # staff of another tenant (say moved there since they rang the bell) no longer see the point: nothing for them
    outsider = world.users["admin_b"]
    await _contacts(runtime, outsider, ["outsider@example.org"], [])
    async with runtime.session_factory() as session, session.begin():
        session.add(mt.MeteringPointSubscription(metering_point_id=olga_point.id, user_id=outsider.id))

    # ivan's point: nobody rang its bell, nothing is queued (and no notice is kept)
    await transfer(runtime, finished(ivan_point.id, ivan.organisation_id, integration_id=9))
    await transfer(runtime, finished(olga_point.id, olga.organisation_id, succeeded=False))
    await transfer(runtime, finished(olga_point.id, olga.organisation_id, succeeded=False))  # retried: once
    await transfer(runtime, finished(olga_point.id, olga.organisation_id, succeeded=True))
    async with runtime.session_factory() as session:
        notices = (await session.scalars(select(mt.TransferNotice.metering_point_id))).all()
    assert notices == [olga_point.id, olga_point.id]

    with smtp_server() as (controller, collector):
        assert await deliver_due(runtime, settings=smtp_settings(runtime, controller.port)) == 4
    sent = sorted((message["To"], str(message["Subject"])) for message in collector.messages)
    assert sent == [
        ("olga.home@example.org", "Показания не переданы: Flat 16 bathroom"),
        ("olga.home@example.org", "Показания переданы: Flat 16 bathroom"),
        ("olga.work@example.org", "Показания не переданы: Flat 16 bathroom"),
        ("olga.work@example.org", "Показания переданы: Flat 16 bathroom"),
    ]
    failed = next(mail for mail in collector.messages if "не переданы" in str(mail["Subject"]))
    text = failed.get_body(("plain",)).get_content()
    assert "Причина: The portal does not know the meter yet." in text and "2026-12-01" in text
    assert "через интеграцию портал mos.ru" in text  # the kind by its name in her language
    assert f"/metering-points/{_gid(olga_point.id)}" in text
    # her login address is not a contact address: nothing goes there
    assert all(message["To"] != olga.email for message in collector.messages)


async def test_a_failing_notification_leaves_the_outcome_standing(gql, runtime, consumers, caplog):
    olga_point, _ = await points(runtime, consumers)
    olga = consumers.users["olga"]
    await _contacts(runtime, olga, ["olga.home@example.org"], [])
    await call(gql, SUBSCRIBE, {"meteringPointId": _gid(olga_point.id)}, consumers.tokens["olga"])
    async with runtime.session_factory() as session, session.begin():  # a broken installation: no template
        await session.execute(delete(EmailTemplate).where(EmailTemplate.type == TemplateType.TRANSFER_RESULT))

    caplog.set_level(logging.ERROR, "fleetgraph.metering.notifications")
    async with runtime.session_factory() as session, session.begin():
        point = await session.get(mt.MeteringPoint, olga_point.id)
        point.account_number = "run-recorded"  # stands for the run's outcome the integration records
        await TRANSFER_FINISHED(session, finished(olga_point.id, olga.organisation_id))

    async with runtime.session_factory() as session:
        assert (await session.get(mt.MeteringPoint, olga_point.id)).account_number == "run-recorded"
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert await session.scalar(select(func.count()).select_from(mt.TransferNotice)) == 0
        assert await session.scalar(select(func.count()).select_from(fw.OutboundDelivery)) == 0
    [record] = caplog.records
    assert "LookupError" in record.getMessage() and "olga" not in record.getMessage()
