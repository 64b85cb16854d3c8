"""Retention of router status samples: samples older than router_status_retention_days are deleted.

A router's newest sample is never deleted, however old: Router.latestStatus must not vanish for a router
that has been silent for longer than the retention period. Deletion goes in chunks, each one bounded
DELETE in its own short transaction, so a large backlog never holds long locks or a huge transaction.
Several processes may run it at once: on PostgreSQL each chunk skips rows another one has locked.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import aliased

from models import remote as r

log = logging.getLogger("fleetgraph.remote.retention")

#: Samples deleted per statement (and per transaction).
CHUNK = 1000
#: The watchdog ticks every few seconds; the retention sweep needs to run far less often.
EVERY_SECONDS = 600.0


async def delete_old_status_samples(session_factory, now: datetime, retention_days: int, *, chunk: int = CHUNK) -> int:
    """Delete samples taken before `now - retention_days` except each router's newest; returns how many.
    retention_days 0 keeps everything."""
    if retention_days <= 0:
        return 0
    cutoff = now - timedelta(days=retention_days)
    # aliases, so that the subquery does not correlate with the DELETE's own table
    old, newer = aliased(r.RouterStatusSample), aliased(r.RouterStatusSample)
    # "newest" by the order Router.latestStatus uses (taken_at, then id)
    has_newer = exists().where(
        newer.router_id == old.router_id,
        or_(newer.taken_at > old.taken_at, and_(newer.taken_at == old.taken_at, newer.id > old.id)),
    )
    deleted = 0
    while True:
        async with session_factory() as session, session.begin():
            due = select(old.id).where(old.taken_at < cutoff, has_newer).order_by(old.id).limit(chunk)
            if session.bind.dialect.name == "postgresql":
                due = due.with_for_update(of=old, skip_locked=True)
            result = await session.execute(
                delete(r.RouterStatusSample)
                .where(r.RouterStatusSample.id.in_(due.scalar_subquery()))
                .execution_options(synchronize_session=False)
            )
            count = result.rowcount or 0
        deleted += count
        if count < chunk:
            return deleted


async def prune_if_due(watchdog) -> int:
    """Called by RouterWatchdog.run_round at every tick; sweeps at most every EVERY_SECONDS per process."""
    from models.base import utcnow

    due_at = getattr(watchdog, "_retention_due_at", 0.0)  # kept on the watchdog: one schedule per process
    if time.monotonic() < due_at:
        return 0
    watchdog._retention_due_at = time.monotonic() + EVERY_SECONDS
    runtime = watchdog.runtime
    deleted = await delete_old_status_samples(
        runtime.session_factory, utcnow(), runtime.settings.router_status_retention_days
    )
    if deleted:
        log.info("deleted %d router status sample(s) past the retention period", deleted)
    return deleted
