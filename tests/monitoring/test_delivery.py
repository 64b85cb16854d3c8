"""The outbound-delivery engine on a real database: idempotent enqueue, claim with a lease, retries with backoff,
FAILED after the maximum, a crashed worker's lease expiring, concurrent workers, the wake-up and the gauge."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import func, select, update

from models import forwarding as fw
from models.base import utcnow
from resolvers.monitoring.delivery import engine
from resolvers.monitoring.delivery.engine import Adapters, Delivery, DeliveryError, claim, deliver_due
from resolvers.monitoring.delivery.gauges import queue_depth
from resolvers.monitoring.delivery.queue import NewDelivery, enqueue, enqueue_many
from resolvers.monitoring.workers.delivery import DeliveryWorker

KIND = "test.receiver"


class Receiver:
    """The adapter under test's far end: records every send; fails while `failures` says so."""

    def __init__(self, failures: int = 0, permanent: bool = False) -> None:
        self.sent: list[str] = []
        self.failures = failures
        self.permanent = permanent

    async def __call__(self, runtime, delivery: Delivery) -> None:
        await asyncio.sleep(0.001)  # let other workers interleave
        if self.failures:
            self.failures -= 1
            raise DeliveryError("receiver answered 503", permanent=self.permanent)
        self.sent.append(delivery.idempotency_key)


def adapters(receiver: Receiver) -> Adapters:
    registry = Adapters()
    registry.register(KIND, receiver)
    return registry


async def queue(runtime, *keys: str) -> None:
    async with runtime.session_factory() as session, session.begin():
        await enqueue_many(session, [NewDelivery(KIND, 1, key, {"n": index}) for index, key in enumerate(keys)])


async def deliveries(runtime) -> dict[str, fw.OutboundDelivery]:
    async with runtime.session_factory() as session:
        return {d.idempotency_key: d for d in (await session.scalars(select(fw.OutboundDelivery))).all()}


async def attempts(runtime) -> list[fw.OutboundAttempt]:
    async with runtime.session_factory() as session:
        return list((await session.scalars(select(fw.OutboundAttempt).order_by(fw.OutboundAttempt.id))).all())


async def make_due(runtime) -> None:
    """Instead of sleeping through the backoff."""
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(fw.OutboundDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


async def test_enqueue_is_idempotent_by_key(runtime):
    async with runtime.session_factory() as session, session.begin():
        assert await enqueue(session, KIND, 1, "batch-1", {"a": 1})
        assert not await enqueue(session, KIND, 1, "batch-1", {"a": 2})
    async with runtime.session_factory() as session, session.begin():
        assert await enqueue_many(session, [NewDelivery(KIND, 1, "batch-1", {}), NewDelivery(KIND, 1, "b2", {})]) == 1
    rows = await deliveries(runtime)
    assert sorted(rows) == ["b2", "batch-1"]
    assert rows["batch-1"].payload == {"a": 1}
    assert rows["batch-1"].state == fw.DeliveryState.QUEUED


async def test_a_delivery_is_sent_once_and_never_again_after_delivered(runtime):
    receiver = Receiver()
    await queue(runtime, "k1")
    assert await deliver_due(runtime, adapters=adapters(receiver)) == 1
    await make_due(runtime)
    assert await deliver_due(runtime, adapters=adapters(receiver)) == 0
    assert receiver.sent == ["k1"]
    row = (await deliveries(runtime))["k1"]
    assert (row.state, row.attempts, row.lease_until, row.delivered_at is not None) == (
        fw.DeliveryState.DELIVERED,
        1,
        None,
        True,
    )
    [attempt] = await attempts(runtime)
    assert (attempt.status, attempt.error) == ("delivered", "")


async def test_failures_retry_with_growing_backoff_then_deliver(runtime):
    receiver = Receiver(failures=2)
    settings = replace(runtime.settings, delivery_retry_seconds=10, delivery_max_backoff_seconds=1000)
    await queue(runtime, "k1")
    started = utcnow()
    assert await deliver_due(runtime, adapters=adapters(receiver), settings=settings) == 0
    first = (await deliveries(runtime))["k1"]
    # the first retry waits 5-10 s (10 s with jitter down to half), and nothing is due before that
    assert timedelta(seconds=5) <= first.next_attempt_at - started <= timedelta(seconds=11)
    assert first.last_error == "receiver answered 503" and first.lease_until is None
    assert await deliver_due(runtime, adapters=adapters(receiver), settings=settings) == 0
    assert receiver.failures == 1
    await make_due(runtime)
    before_second = utcnow()
    assert await deliver_due(runtime, adapters=adapters(receiver), settings=settings) == 0
    second = (await deliveries(runtime))["k1"]
    assert timedelta(seconds=10) <= second.next_attempt_at - before_second <= timedelta(seconds=21)
    await make_due(runtime)
    assert await deliver_due(runtime, adapters=adapters(receiver), settings=settings) == 1
    assert receiver.sent == ["k1"]
    assert [a.status for a in await attempts(runtime)] == ["failed", "failed", "delivered"]
    assert (await deliveries(runtime))["k1"].attempts == 3


def test_backoff_is_capped_and_jittered(runtime):
    settings = replace(runtime.settings, delivery_retry_seconds=5, delivery_max_backoff_seconds=60)
    waits = [engine.backoff(settings, 20).total_seconds() for _ in range(50)]
    assert all(30 <= wait <= 60 for wait in waits)
    assert len(set(waits)) > 1


async def test_the_last_attempt_fails_the_delivery_and_a_permanent_error_at_once(runtime):
    settings = replace(runtime.settings, delivery_max_attempts=3)
    receiver = Receiver(failures=10)
    await queue(runtime, "k1")
    for _ in range(3):
        await deliver_due(runtime, adapters=adapters(receiver), settings=settings)
        await make_due(runtime)
    assert (await deliveries(runtime))["k1"].state == fw.DeliveryState.FAILED
    assert await deliver_due(runtime, adapters=adapters(receiver), settings=settings) == 0
    assert receiver.failures == 7

    permanent = Receiver(failures=1, permanent=True)
    await queue(runtime, "k2")
    await deliver_due(runtime, adapters=adapters(permanent), settings=settings)
    assert (await deliveries(runtime))["k2"].state == fw.DeliveryState.FAILED
    assert (await deliveries(runtime))["k2"].attempts == 1


async def test_an_unknown_kind_fails_and_a_hung_receiver_times_out(runtime):
    await queue(runtime, "k1")
    await deliver_due(runtime, adapters=Adapters())
    row = (await deliveries(runtime))["k1"]
    assert row.state == fw.DeliveryState.FAILED and "No adapter" in row.last_error

    async def hung(runtime, delivery):
        await asyncio.sleep(30)

    registry = Adapters()
    registry.register(KIND, hung)
    await queue(runtime, "k2")
    await deliver_due(runtime, adapters=registry, settings=replace(runtime.settings, delivery_timeout_seconds=0.2))
    row = (await deliveries(runtime))["k2"]
    assert row.state == fw.DeliveryState.QUEUED and "No acknowledgement within 0.2 s" in row.last_error


async def test_a_crashed_workers_lease_expires_and_the_delivery_is_sent_again_with_its_key(runtime):
    receiver = Receiver()
    await queue(runtime, "k1")
    # a worker claims it and "crashes": it never records anything
    _, [held] = await claim(runtime, runtime.settings, 10)
    assert held.idempotency_key == "k1" and held.attempts == 1
    # while the lease holds, nobody else takes it
    assert await deliver_due(runtime, adapters=adapters(receiver)) == 0
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(fw.OutboundDelivery).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert await deliver_due(runtime, adapters=adapters(receiver)) == 1
    assert receiver.sent == ["k1"]
    row = (await deliveries(runtime))["k1"]
    assert (row.state, row.attempts) == (fw.DeliveryState.DELIVERED, 2)


async def test_a_late_failure_of_a_worker_whose_lease_was_taken_over_changes_nothing(runtime):
    await queue(runtime, "k1")
    token, [first] = await claim(runtime, runtime.settings, 10)
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(fw.OutboundDelivery).values(lease_until=utcnow() - timedelta(seconds=1)))
    second_token, [second] = await claim(runtime, runtime.settings, 10)
    await engine.record(runtime, runtime.settings, second, second_token, None, 0.01)
    await engine.record(runtime, runtime.settings, first, token, DeliveryError("late timeout"), 5.0)
    row = (await deliveries(runtime))["k1"]
    assert (row.state, row.last_error) == (fw.DeliveryState.DELIVERED, "")


async def test_eight_concurrent_workers_send_each_delivery_exactly_once(runtime):
    receiver = Receiver()
    keys = [f"batch-{n}" for n in range(120)]
    await queue(runtime, *keys)
    registry = adapters(receiver)
    counts = await asyncio.gather(*(deliver_due(runtime, adapters=registry, limit=4, rounds=100) for _ in range(8)))
    assert sum(counts) == len(keys)
    assert sorted(receiver.sent) == sorted(keys)  # each once: no duplicates, none missing
    assert sum(1 for c in counts if c) > 1  # the work was shared
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(fw.OutboundAttempt)) == len(keys)


async def test_an_enqueue_wakes_the_worker_before_its_poll_interval(runtime):
    receiver = Receiver()
    # the worker would poll only every ten minutes: only the wake-up can make it deliver within the test
    sleepy = SimpleNamespace(
        settings=replace(runtime.settings, delivery_poll_seconds=600),
        engine=runtime.engine,
        session_factory=runtime.session_factory,
    )
    worker = DeliveryWorker(sleepy, adapters(receiver))
    worker.start()
    try:
        await asyncio.sleep(0.1)  # its first round found nothing and waits
        await queue(runtime, "k1")
        for _ in range(100):
            if receiver.sent:
                break
            await asyncio.sleep(0.05)
        assert receiver.sent == ["k1"]
    finally:
        await worker.stop()


async def test_the_gauge_counts_queued_and_failed_by_kind(runtime):
    engine.ADAPTERS.register("test.gauge", Receiver())
    await queue(runtime, "k1", "k2")
    await deliver_due(runtime, adapters=adapters(Receiver(failures=1, permanent=True)), limit=1, rounds=1)
    async with runtime.session_factory() as session:
        depth = await queue_depth(session)
    assert depth[(KIND, "QUEUED")] == 1 and depth[(KIND, "FAILED")] == 1
    assert depth[("test.gauge", "QUEUED")] == 0


async def test_a_claim_takes_at_most_its_limit(runtime):
    await queue(runtime, *(f"k{n}" for n in range(5)))
    _, held = await claim(runtime, runtime.settings, 2)
    assert [d.idempotency_key for d in held] == ["k0", "k1"]
    _, rest = await claim(runtime, runtime.settings, 10)
    assert [d.idempotency_key for d in rest] == ["k2", "k3", "k4"]


async def test_delivered_deliveries_past_their_retention_are_purged_failed_ones_stay(runtime):
    await queue(runtime, "old", "new", "dead")
    await deliver_due(runtime, adapters=adapters(Receiver()), limit=2, rounds=1)
    await deliver_due(runtime, adapters=adapters(Receiver(failures=1, permanent=True)))
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(fw.OutboundDelivery)
            .where(fw.OutboundDelivery.idempotency_key.in_(["old", "dead"]))
            .values(delivered_at=utcnow() - timedelta(days=8), created_at=utcnow() - timedelta(days=8))
        )
    assert await engine.purge_delivered(runtime, timedelta(days=7)) == 1
    rows = await deliveries(runtime)
    assert sorted(rows) == ["dead", "new"] and rows["dead"].state == fw.DeliveryState.FAILED
    assert {a.delivery_id for a in await attempts(runtime)} == {rows["dead"].id, rows["new"].id}
