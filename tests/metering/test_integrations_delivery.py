"""Scheduled transfers through monitoring's outbound-delivery engine against local HTTP receivers (Starlette on
uvicorn at 127.0.0.1) for every HTTP kind, which fail, time out and recover: every due period arrives exactly once
(the receivers count acknowledged bodies by idempotency key), each run is recorded, a city portal's "device not
found" is retried daily, parallel schedulers never queue a period twice, and the e-mail kind reaches aiosmtpd."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from sqlalchemy import func, select, update

from graph.relay import to_global_id
from models import forwarding as fw
from models import metering as mt
from models.base import utcnow
from resolvers.mail.workers.delivery import deliver_due as deliver_mail
from resolvers.metering.hooks import TRANSFER_FINISHED
from resolvers.metering.integrations.scheduler import schedule_due
from tests.burst import Overlap
from tests.metering.integrations_helpers import (
    ADDED_AT,
    RUNS,
    SECRET,
    UPDATE,
    Receiver,
    add_integration,
    deliver_everything,
    pin_schedule_clock,
    seed_points,
    serve,
)
from tests.smtp import smtp_server, smtp_settings

K = mt.IntegrationKind
#: What every TRANSFER_FINISHED call told (the hook's handler below is registered once for this module).
FINISHED: list = []


async def _remember(session, finished) -> None:
    FINISHED.append(finished)


TRANSFER_FINISHED.register(_remember)


@pytest.fixture
async def seeded(runtime, world):
    FINISHED.clear()
    return await seed_points(runtime, world)


def moscow_due(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour - 3, tzinfo=UTC)


async def runs(runtime, integration_id: int) -> list[mt.IntegrationRun]:
    async with runtime.session_factory() as session:
        return list(
            (
                await session.scalars(
                    select(mt.IntegrationRun)
                    .where(mt.IntegrationRun.integration_id == integration_id)
                    .order_by(mt.IntegrationRun.id)
                )
            ).all()
        )


@pytest.fixture
def fast(runtime):
    """Sends time out after 1.6 s (0.8 of the engine's 2 s), so the receivers' slow answers are timeouts."""
    return replace(runtime.settings, delivery_timeout_seconds=2.0)


async def add_http_integrations(runtime, point: int, hook: str, first: date) -> dict:
    """A daily integration of every HTTP kind on the point: {kind: integration pk}."""
    fields = {
        K.WEBHOOK: {"url": hook},
        K.CITY_PORTAL: {"payerId": "2919282910", "apartment": "203"},
        K.STATE_HOUSING: {"unifiedAccountNumber": "12AB345678"},
        K.UTILITY: {"subscriberNumber": "5551234"},
    }
    return {
        kind: await add_integration(runtime, point, kind, settings, first=first) for kind, settings in fields.items()
    }


async def test_every_due_period_reaches_every_http_kind_once_through_failures_and_timeouts(runtime, seeded, fast):
    receivers = {
        kind: Receiver(script=["fail", "slow", "fail"])
        for kind in (K.WEBHOOK, K.CITY_PORTAL, K.STATE_HOUSING, K.UTILITY)
    }
    first = date(2030, 1, 30)
    async with (
        serve(receivers[K.WEBHOOK].app()) as hook,
        serve(receivers[K.CITY_PORTAL].app()) as portal,
        serve(receivers[K.STATE_HOUSING].app()) as housing,
        serve(receivers[K.UTILITY].app()) as utility,
    ):
        runtime.settings = replace(
            runtime.settings,
            metering_city_portal_url=portal,
            metering_state_housing_url=housing,
            metering_utility_url=utility,
            delivery_timeout_seconds=2.0,
        )
        try:
            ids = await add_http_integrations(runtime, seeded.points["anna"], f"{hook}/hook", first)
            periods = [first + timedelta(days=n) for n in range(4)]  # across the month end
            for period in periods:
                assert await schedule_due(runtime, moscow_due(period) - timedelta(seconds=1)) == 0
                assert await schedule_due(runtime, moscow_due(period) + timedelta(minutes=1)) == 4
                await deliver_everything(runtime, fast)
            assert await schedule_due(runtime, moscow_due(periods[-1]) + timedelta(hours=12)) == 0
        finally:
            runtime.settings = replace(runtime.settings, delivery_timeout_seconds=10.0)
        await asyncio.sleep(2.5)  # the slow answers end

    for kind, receiver in receivers.items():
        expected = {f"integration:{ids[kind]}:{period.isoformat()}" for period in periods}
        assert set(receiver.bodies) == expected, kind
        assert all(len(bodies) == 1 for bodies in receiver.bodies.values()), kind
        assert len(receiver.seen) == 4 + 3  # the failed and the timed-out requests came again with their key
        body = next(iter(receiver.bodies.values()))[0]
        assert body["kind"] == kind.value and body["reading"]["value"] == 123.5
        recorded = await runs(runtime, ids[kind])
        assert [(r.period, r.status, r.trigger) for r in recorded] == [
            (period, mt.RunStatus.DELIVERED, "SCHEDULE") for period in periods
        ]
        assert all(len(r.payload_digest) == 64 and r.delivery_id for r in recorded)
    # the webhook's signature is the HMAC of the body, and the run's digest is the body's SHA-256
    webhook = receivers[K.WEBHOOK]
    for body_list in webhook.bodies.values():
        data = orjson.dumps(body_list[0], option=orjson.OPT_SORT_KEYS)
        expected = "sha256=" + hmac.new(SECRET.encode(), data, hashlib.sha256).hexdigest()
        assert expected in webhook.signatures
    digests = {r.payload_digest for r in await runs(runtime, ids[K.WEBHOOK])}
    assert {
        hashlib.sha256(orjson.dumps(b[0], option=orjson.OPT_SORT_KEYS)).hexdigest() for b in webhook.bodies.values()
    } == digests
    assert len(FINISHED) == 16 and all(f.succeeded for f in FINISHED)


async def test_a_receiver_that_never_recovers_fails_the_run_and_tells_the_hook(runtime, seeded, fast):
    receiver = Receiver(script=["fail"] * 20)
    limited = replace(fast, delivery_max_attempts=3)
    before, runtime.settings = runtime.settings, limited  # the adapter reads the last attempt from the runtime's
    try:
        async with serve(receiver.app()) as hook:
            integration = await add_integration(
                runtime, seeded.points["anna"], K.WEBHOOK, {"url": f"{hook}/hook"}, first=date(2030, 1, 1)
            )
            assert await schedule_due(runtime, moscow_due(date(2030, 1, 1))) == 1
            await deliver_everything(runtime, limited)
    finally:
        runtime.settings = before
    (run,) = await runs(runtime, integration)
    assert run.status is mt.RunStatus.FAILED and run.error == "The webhook answered 500." and run.finished_at
    assert len(receiver.seen) == 3
    assert [(f.succeeded, f.error, f.period) for f in FINISHED] == [
        (False, "The webhook answered 500.", date(2030, 1, 1))
    ]


async def add_monthly_portal(runtime, point: int) -> int:
    fields = {"payerId": "2919282910", "apartment": "203"}
    return await add_integration(runtime, point, K.CITY_PORTAL, fields, first=date(2030, 1, 25), periodicity="MONTHLY")


async def test_device_not_found_is_retried_daily_until_delivered_or_edited(runtime, seeded, gql, fast):
    receiver = Receiver(script=["missing", "missing"])
    async with serve(receiver.app()) as portal:
        runtime.settings = replace(runtime.settings, metering_city_portal_url=portal)
        try:
            integration = await add_monthly_portal(runtime, seeded.points["anna"])
            async with runtime.session_factory() as session, session.begin():
                await session.execute(
                    update(mt.Integration).values(
                        next_due_at=utcnow() - timedelta(minutes=1), next_period=date(2026, 12, 7)
                    )
                )
            now = utcnow()
            assert await schedule_due(runtime, now) == 1
            await deliver_everything(runtime, fast)
            assert [r.status for r in await runs(runtime, integration)] == [mt.RunStatus.DEVICE_NOT_FOUND]
            assert FINISHED == []  # no error to the user
            assert await schedule_due(runtime, now + timedelta(hours=23)) == 0
            for day in (1, 2):
                assert await schedule_due(runtime, now + timedelta(days=day, minutes=2)) == 1
                await deliver_everything(runtime, fast)
        finally:
            runtime.settings = replace(runtime.settings, metering_city_portal_url="https://portal.invalid/api")
    recorded = await runs(runtime, integration)
    assert [(r.status, r.trigger, r.period) for r in recorded] == [
        (mt.RunStatus.DEVICE_NOT_FOUND, "SCHEDULE", date(2026, 12, 7)),
        (mt.RunStatus.DEVICE_NOT_FOUND, "RETRY", date(2026, 12, 7)),
        (mt.RunStatus.DELIVERED, "RETRY", date(2026, 12, 7)),
    ]
    assert len(set(receiver.seen)) == 3 and set(receiver.bodies) == {receiver.seen[-1]}
    async with runtime.session_factory() as session:
        row = await session.get(mt.Integration, integration)
    assert row.retry_at is None and [f.succeeded for f in FINISHED] == [True]
    history = await gql(RUNS, {"id": to_global_id("Integration", integration), "first": 2}, seeded.tokens["anna"])
    page = history["data"]["integrationRuns"]
    assert [n["status"] for n in page["nodes"]] == ["DELIVERED", "DEVICE_NOT_FOUND"] and page["pageInfo"]["hasNextPage"]


async def test_an_edit_stops_the_daily_device_not_found_retry(runtime, seeded, gql, monkeypatch):
    pin_schedule_clock(monkeypatch)  # the next transfer stays on the first date (25 January 2030), whatever today is
    integration = await add_monthly_portal(runtime, seeded.points["anna"])
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(mt.Integration).values(retry_at=ADDED_AT, retry_period=date(2026, 12, 8)))
    anna = seeded.tokens["anna"]
    fields = {"payerId": "2919282911", "apartment": "203"}
    changed = await gql(UPDATE, {"input": {"id": to_global_id("Integration", integration), "cityPortal": fields}}, anna)
    assert changed["data"]["integrationUpdate"]["integration"]["retryingDeviceNotFound"] is False
    assert await schedule_due(runtime, ADDED_AT + timedelta(days=1, minutes=1)) == 0


async def test_parallel_schedulers_never_queue_a_period_twice(runtime, seeded):
    first = date(2030, 3, 1)
    ids = [
        await add_integration(
            runtime, seeded.points[name], K.EMAIL, {"recipient": f"uk{n}@management.example"}, first=first
        )
        for n, name in enumerate(["anna", "boris", "b"] * 4)
    ]
    queued = 0
    with Overlap(runtime) as overlap:
        for period in (first + timedelta(days=n) for n in range(3)):
            results = await asyncio.gather(
                *(schedule_due(runtime, moscow_due(period) + timedelta(minutes=5)) for _ in range(10))
            )
            queued += sum(results)
    assert overlap.most >= 2
    assert queued == len(ids) * 3
    async with runtime.session_factory() as session:
        per_period = (
            await session.execute(
                select(mt.IntegrationRun.integration_id, mt.IntegrationRun.period, func.count()).group_by(
                    mt.IntegrationRun.integration_id, mt.IntegrationRun.period
                )
            )
        ).all()
        deliveries = await session.scalar(select(func.count()).select_from(fw.OutboundDelivery))
    assert len(per_period) == len(ids) * 3 and {count for *_, count in per_period} == {1}
    assert deliveries == len(ids) * 3


async def test_the_email_kind_goes_through_the_outbox_to_smtp(runtime, seeded, fast):
    integration = await add_integration(
        runtime,
        seeded.points["anna"],
        K.EMAIL,
        {"recipient": "uk@management.example"},
        first=date(2030, 2, 28),
        periodicity="MONTHLY",
    )
    assert await schedule_due(runtime, moscow_due(date(2030, 2, 28))) == 1
    await deliver_everything(runtime, fast)
    (run,) = await runs(runtime, integration)
    assert run.status is mt.RunStatus.DELIVERED
    with smtp_server() as (controller, collector):
        assert await deliver_mail(runtime, settings=smtp_settings(runtime, controller.port)) == 1
    (message,) = collector.messages
    assert message["To"] == "uk@management.example"
    text = message.get_body(("plain",)).get_content()
    assert "123.5 m³" in text and "7712345678" in text and "2030-02-28" in text and "33100050" in text
