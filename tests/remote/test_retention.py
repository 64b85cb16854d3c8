"""Retention of router status samples (resolvers.remote.workers.retention) on the real database."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select

from models import remote as r
from models.base import utcnow
from resolvers.remote.workers import retention
from resolvers.remote.workers.watchdog import RouterWatchdog

NOW = utcnow()


async def add_router(runtime, common_name: str, days_ago: list[float]) -> int:
    async with runtime.session_factory() as session, session.begin():
        mac = ":".join(secrets.token_hex(6)[i : i + 2] for i in range(0, 12, 2)).upper()
        router = r.Router(common_name=common_name, mac_address=mac, serial_number=f"SN-{common_name}")
        session.add(router)
        await session.flush()
        session.add_all(
            r.RouterStatusSample(router_id=router.id, taken_at=NOW - timedelta(days=days), cpu_load=days)
            for days in days_ago
        )
        return router.id


async def ages(runtime, router_id: int) -> list[float]:
    async with runtime.session_factory() as session:
        return sorted(
            (
                await session.scalars(
                    select(r.RouterStatusSample.cpu_load).where(r.RouterStatusSample.router_id == router_id)
                )
            ).all()
        )


async def test_old_samples_go_but_the_newest_of_each_router_stays(runtime):
    active = await add_router(runtime, "R_ACTIVE", [1, 10, 29, 31, 45, 90])
    silent = await add_router(runtime, "R_SILENT", [40, 60, 400])  # silent for 40 days
    deleted = await retention.delete_old_status_samples(runtime.session_factory, NOW, 30)
    assert deleted == 3 + 2
    assert await ages(runtime, active) == [1, 10, 29]
    assert await ages(runtime, silent) == [40]  # latestStatus must not vanish


async def test_newest_is_decided_by_time_then_id(runtime):
    """Two samples with the same taken_at: the one with the higher id is the newest (as latestStatus)."""
    router = await add_router(runtime, "R_TWIN", [50, 50])
    assert await retention.delete_old_status_samples(runtime.session_factory, NOW, 30) == 1
    async with runtime.session_factory() as session:
        kept = (
            await session.scalars(select(r.RouterStatusSample.id).where(r.RouterStatusSample.router_id == router))
        ).all()
        newest = await session.scalar(select(func.max(r.RouterStatusSample.id)))
    assert kept == [newest]


async def test_zero_days_keeps_everything(runtime):
    router = await add_router(runtime, "R_KEEP", [100, 200, 300])
    assert await retention.delete_old_status_samples(runtime.session_factory, NOW, 0) == 0
    assert await ages(runtime, router) == [100, 200, 300]


async def test_deletes_in_bounded_chunks_one_transaction_each(runtime, count_sql):
    router = await add_router(runtime, "R_MANY", [31 + day for day in range(7)] + [1])
    with count_sql() as counter:
        deleted = await retention.delete_old_status_samples(runtime.session_factory, NOW, 30, chunk=3)
    assert deleted == 7
    assert await ages(runtime, router) == [1]
    deletes = [s for s in counter.statements if s.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 3  # 3 + 3 + 1: the short last chunk ends the sweep
    assert all("LIMIT" in s.upper() for s in deletes)


async def test_the_watchdog_sweeps_at_most_every_ten_minutes(runtime, monkeypatch):
    watchdog = RouterWatchdog(runtime)
    router = await add_router(runtime, "R_TICK", [1, 40])
    await watchdog.run_round()
    assert await ages(runtime, router) == [1]

    async with runtime.session_factory() as session, session.begin():
        session.add(r.RouterStatusSample(router_id=router, taken_at=NOW - timedelta(days=50), cpu_load=50))
    await watchdog.run_round()  # the next tick, seconds later: no sweep
    assert await ages(runtime, router) == [1, 50]

    clock = retention.time.monotonic() + retention.EVERY_SECONDS + 1
    monkeypatch.setattr(retention.time, "monotonic", lambda: clock)
    await watchdog.run_round()
    assert await ages(runtime, router) == [1]
