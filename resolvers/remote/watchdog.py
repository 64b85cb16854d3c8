"""The offline watchdog: routers silent for longer than router_offline_after_seconds go offline.

Safe with several server processes: on PostgreSQL each round locks the rows it flips with
FOR UPDATE SKIP LOCKED (a row another process is flipping, or a heartbeat is updating, is skipped
this round), and the UPDATE re-checks online and the heartbeat time, so a heartbeat that arrived
meanwhile keeps its router online.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from graph.workers import PeriodicTask
from models import remote as r
from models.base import utcnow
from models.identity import Organisation
from resolvers.remote import retention
from resolvers.remote.notifier import notify_offline_routers
from resolvers.remote.services import disconnected_events, end_connections, state_event
from subscriptions import channels

log = logging.getLogger("fleetgraph.remote.watchdog")

#: Routers flipped per statement (and per transaction).
CHUNK = 500

Publish = Callable[[str, dict], Awaitable[Any]]


async def mark_silent_routers_offline(
    session_factory, now: datetime, silence_seconds: float, *, publish: Publish | None = None
) -> list[int]:
    """Flip online routers whose last heartbeat is older than `silence_seconds` before `now` to offline;
    publish one ROUTER_STATE event per flipped router after each commit. Returns their ids."""
    cutoff = now - timedelta(seconds=silence_seconds)
    flipped: list[int] = []
    while True:
        async with session_factory() as session:
            is_postgres = session.bind.dialect.name == "postgresql"
            due = (
                select(r.Router.id)
                .where(r.Router.online.is_(True), r.Router.last_heartbeat_at < cutoff)
                .order_by(r.Router.id)
                .limit(CHUNK)
            )
            if is_postgres:
                due = due.with_for_update(skip_locked=True)
            async with session.begin():
                rows = (
                    await session.execute(
                        update(r.Router)
                        # conditions again: on PostgreSQL they are re-evaluated on the locked row
                        .where(
                            r.Router.id.in_(due.scalar_subquery()),
                            r.Router.online.is_(True),
                            r.Router.last_heartbeat_at < cutoff,
                        )
                        .values(online=False, state_changed_at=now)
                        .returning(r.Router.id, r.Router.organisation_id)
                        .execution_options(synchronize_session=False)
                    )
                ).all()
                org_ids = {row.organisation_id for row in rows if row.organisation_id is not None}
                paths = (
                    dict(
                        (
                            await session.execute(
                                select(Organisation.id, Organisation.path).where(Organisation.id.in_(org_ids))
                            )
                        ).all()
                    )
                    if org_ids
                    else {}
                )
        if publish is not None:
            for row in rows:
                await publish(
                    channels.ROUTER_STATE, state_event(row.id, False, now, paths.get(row.organisation_id, ""))
                )
        flipped.extend(row.id for row in rows)
        if len(rows) < CHUNK:
            return flipped


async def end_connections_of_offline_routers(session_factory, now, *, publish=None) -> list[int]:
    """Watchdog: end (ROUTER_OFFLINE) every active connection through an offline router; a DISCONNECTED
    event per connection after the commit. Looks at all offline routers, not only those flipped this
    round, so a crash between the flip and this call leaves no connection open."""
    async with session_factory() as session, session.begin():
        offline = (
            select(r.RouterConnection.id)
            .join(r.Router, r.Router.id == r.RouterConnection.router_id)
            .where(r.RouterConnection.ended_at.is_(None), r.Router.online.is_(False))
        )
        rows = await end_connections(session, offline.scalar_subquery(), now, r.ConnectionEnd.ROUTER_OFFLINE)
        events = await disconnected_events(session, rows, now)
    if publish is not None:
        for event in events:
            await publish(channels.ROUTER_STATE, event)
    return [row.id for row in rows]


class RouterWatchdog(PeriodicTask):
    """Every router_watchdog_seconds: silent routers go offline, their connections end, old status samples
    are pruned (at most every 10 minutes) and offline notifications that are due are queued."""

    name = "router watchdog"
    log = log

    def interval(self) -> float:
        return self.runtime.settings.router_watchdog_seconds

    async def tick(self) -> list[int]:
        from models.base import utcnow

        settings = self.runtime.settings
        return await mark_silent_routers_offline(
            self.runtime.session_factory,
            utcnow(),
            settings.router_offline_after_seconds,
            publish=self.runtime.bus.publish,
        )

    async def run_round(self) -> None:
        flipped = await self.tick()
        await end_connections_of_offline_routers(
            self.runtime.session_factory, utcnow(), publish=self.runtime.bus.publish
        )
        if flipped:
            log.info("%d router(s) went offline", len(flipped))
        await retention.prune_if_due(self)
        await notify_offline_routers(
            self.runtime.session_factory, utcnow(), public_url=self.runtime.settings.public_url
        )
