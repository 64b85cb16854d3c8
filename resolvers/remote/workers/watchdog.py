"""The offline watchdog: routers silent for longer than router_offline_after_seconds go offline.

Safe with several server processes: on PostgreSQL each round locks the rows it flips with
FOR UPDATE SKIP LOCKED (a row another process is flipping, or a heartbeat is updating, is skipped
this round), and the UPDATE re-checks online and the heartbeat time, so a heartbeat that arrived
meanwhile keeps its router online.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from graph.context import publish_after_commit
from graph.workers import PeriodicTask, transaction
from models import identity as m
from models import remote as r
from models.base import utcnow
from resolvers.remote.connections.rules import disconnected_events, end_connections
from resolvers.remote.router_events import ROUTER_ONLINE_CHANGED, state_event
from resolvers.remote.workers import retention
from resolvers.remote.workers.conditions import notify_condition_changes
from resolvers.remote.workers.notifier import notify_offline_routers
from subscriptions import channels

log = logging.getLogger("fleetgraph.remote.watchdog")

#: Routers flipped per statement (and per transaction).
CHUNK = 500


async def mark_silent_routers_offline(runtime: Any, now: datetime, silence_seconds: float) -> list[int]:
    """Flip online routers whose last heartbeat is older than `silence_seconds` before `now` to offline,
    CHUNK per transaction; one ROUTER_STATE event per flipped router goes out after each commit.
    Returns their ids."""
    cutoff = now - timedelta(seconds=silence_seconds)
    flipped: list[int] = []
    while True:
        async with transaction(runtime) as session:
            due = (
                select(r.Router.id)
                .where(r.Router.online.is_(True), r.Router.last_heartbeat_at < cutoff)
                .order_by(r.Router.id)
                .limit(CHUNK)
            )
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
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
            paths: dict[int, str] = {}
            if org_ids:
                found = await session.execute(
                    select(m.Organisation.id, m.Organisation.path).where(m.Organisation.id.in_(org_ids))
                )
                paths = {pk: path for pk, path in found.all()}
            for row in rows:
                event = state_event(row.id, False, now, paths.get(row.organisation_id, ""))
                publish_after_commit(session, channels.ROUTER_STATE, event)
            if rows:
                await ROUTER_ONLINE_CHANGED(session, [row.id for row in rows], False, now)
        flipped.extend(row.id for row in rows)
        if len(rows) < CHUNK:
            return flipped


async def end_connections_of_offline_routers(runtime: Any, now: datetime) -> list[int]:
    """Watchdog: end (ROUTER_OFFLINE) every active connection through an offline router; a DISCONNECTED
    event per connection after the commit. Looks at all offline routers, not only those flipped this
    round, so a crash between the flip and this call leaves no connection open."""
    async with transaction(runtime) as session:
        offline = (
            select(r.RouterConnection.id)
            .join(r.Router, r.Router.id == r.RouterConnection.router_id)
            .where(r.RouterConnection.ended_at.is_(None), r.Router.online.is_(False))
        )
        rows = await end_connections(session, offline.scalar_subquery(), now, r.ConnectionEnd.ROUTER_OFFLINE)
        for event in await disconnected_events(session, rows, now):
            publish_after_commit(session, channels.ROUTER_STATE, event)
    return [row.id for row in rows]


class RouterWatchdog(PeriodicTask):
    """Every router_watchdog_seconds: silent routers go offline, their connections end, old status samples
    are pruned (at most every 10 minutes) and offline, fault and standstill notifications that are due are queued."""

    name = "router watchdog"
    log = log

    def interval(self) -> float:
        return self.runtime.settings.router_watchdog_seconds

    async def tick(self) -> list[int]:
        return await mark_silent_routers_offline(
            self.runtime, utcnow(), self.runtime.settings.router_offline_after_seconds
        )

    async def run_round(self) -> None:
        flipped = await self.tick()
        await end_connections_of_offline_routers(self.runtime, utcnow())
        if flipped:
            log.info("%d router(s) went offline", len(flipped))
        await retention.prune_if_due(self)
        await notify_offline_routers(
            self.runtime.session_factory, utcnow(), public_url=self.runtime.settings.link_base_url
        )
        await notify_condition_changes(
            self.runtime.session_factory, utcnow(), public_url=self.runtime.settings.link_base_url
        )
