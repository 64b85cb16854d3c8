"""A `fleetgraph serve` process killed (SIGKILL) while its delivery worker waits for a city portal's answer loses
nothing and duplicates nothing: the period was queued in the scheduler's transaction, the restarted server sends it
again with the same idempotency key once the lease ran out, and exactly one run and one acknowledged body exist."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from datetime import date, timedelta

from sqlalchemy import select, update

from graph.runtime import Runtime
from models import forwarding as fw
from models import metering as mt
from models.base import utcnow
from tests.environment import FLEETGRAPH, MASTER_KEY, free_port, make_settings
from tests.factories import add_world
from tests.metering.integrations_helpers import Receiver, add_integration, seed_points, serve


def start_server(data_dir, database_url: str, portal: str) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    environment.update(
        FLEETGRAPH_DATA_DIR=str(data_dir),
        FLEETGRAPH_DATABASE_URL=database_url,
        FLEETGRAPH_MASTER_KEY=MASTER_KEY,
        FLEETGRAPH_METERING_SCHEDULER_SECONDS="0.3",
        FLEETGRAPH_METERING_CITY_PORTAL_URL=portal,
        FLEETGRAPH_DELIVERY_POLL_SECONDS="0.3",
        FLEETGRAPH_DELIVERY_LEASE_SECONDS="3",
        FLEETGRAPH_DELIVERY_TIMEOUT_SECONDS="60",
    )
    return subprocess.Popen(
        [FLEETGRAPH, "serve", "--port", str(free_port())],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_for(condition, seconds: float) -> None:
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_a_server_killed_mid_delivery_loses_and_duplicates_nothing(tmp_path):
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}"
    seeding = Runtime(make_settings(tmp_path, database_url=database_url, broadcast_url="memory://"))
    await seeding.start(auto_migrate=True)
    try:
        async with seeding.session_factory() as session, session.begin():
            world = await add_world(session)
        seeded = await seed_points(seeding, world)
        integration = await add_integration(
            seeding,
            seeded.points["anna"],
            mt.IntegrationKind.CITY_PORTAL,
            {"payerId": "2919282910", "apartment": "203"},
            first=date(2030, 1, 1),
        )
        async with seeding.session_factory() as session, session.begin():
            await session.execute(
                update(mt.Integration).values(
                    next_due_at=utcnow() - timedelta(minutes=1), next_period=date(2026, 12, 7)
                )
            )
    finally:
        await seeding.stop()

    receiver = Receiver(script=["hold"])
    async with serve(receiver.app()) as portal:
        first = start_server(tmp_path, database_url, portal)
        try:
            await wait_for(receiver.held.is_set, 60)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert receiver.bodies == {}
        second = start_server(tmp_path, database_url, portal)
        try:
            await wait_for(lambda: bool(receiver.bodies), 60)
            await asyncio.sleep(1.5)  # a few more scheduler and delivery rounds: nothing else may come
        finally:
            second.terminate()
            second.wait(timeout=30)

    key = f"integration:{integration}:2026-12-07"
    assert receiver.seen == [key, key] and list(receiver.bodies) == [key] and len(receiver.bodies[key]) == 1
    checking = Runtime(make_settings(tmp_path, database_url=database_url, broadcast_url="memory://"))
    await checking.start()
    try:
        async with checking.session_factory() as session:
            runs = (await session.scalars(select(mt.IntegrationRun))).all()
            deliveries = (await session.scalars(select(fw.OutboundDelivery))).all()
            row = await session.get(mt.Integration, integration)
    finally:
        await checking.stop()
    assert [(r.period, r.status) for r in runs] == [(date(2026, 12, 7), mt.RunStatus.DELIVERED)]
    assert [(d.idempotency_key, d.state, d.attempts) for d in deliveries] == [(key, fw.DeliveryState.DELIVERED, 2)]
    assert row.next_due_at > utcnow()  # moved on once, to the next occurrence
