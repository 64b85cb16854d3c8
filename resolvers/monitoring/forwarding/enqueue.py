"""The POINTS_STORED handler: in the ingest's transaction, one delivery per enabled target per batch.

Set-based, so a batch costs the same few statements whatever its size: the targets of the batch's locations (1),
the smart-mode state of the smart ones (0-1), the deliveries (0-1, one INSERT … ON CONFLICT DO NOTHING) and the new
state (0-1, one upsert). A refused batch rolls all of it back: nothing is forwarded.

The idempotency key is the target and a digest of the points it sends, so the same batch stored twice (a client
retrying after a lost answer) queues one delivery.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import forwarding as fw
from resolvers.monitoring.delivery.queue import NewDelivery, enqueue_many
from resolvers.monitoring.forwarding.adapters import KINDS
from resolvers.monitoring.hooks import StoredPoint

State = dict[tuple[int, int], tuple[float, datetime]]


def nanoseconds(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000_000 + at.microsecond * 1000


def _chosen(target: fw.ForwardingTarget, points: Sequence[StoredPoint], state: State) -> list[StoredPoint]:
    """The target's points: its keys (all when none are chosen), and in smart mode only what changed, or what was
    last sent at least the interval before (0: an unchanged value never again). Updates `state` as it goes."""
    keys = {value["key"] for value in target.values or []}
    mine = [p for p in points if p.location_id == target.location_id and (not keys or p.key in keys)]
    if not target.smart:
        return mine
    kept = []
    interval = target.smart_interval_seconds
    for point in sorted(mine, key=lambda p: (p.series_id, p.at)):
        last = state.get((target.id, point.series_id))
        if last is not None:
            value, at = last
            due = interval > 0 and (point.at - at).total_seconds() >= interval
            if point.value == value and not due:
                continue
        state[(target.id, point.series_id)] = (point.value, point.at)
        kept.append(point)
    return kept


def _payload(target: fw.ForwardingTarget, points: list[StoredPoint]) -> dict[str, Any]:
    """What the adapter sends, with each value's settings as they were when the batch came (a later change of the
    selection does not change what this batch means)."""
    settings = {value["key"]: value for value in target.values or []}
    return {
        "location": target.location_id,
        "points": [
            {
                "key": p.key,
                "device": p.device_id,
                "series": p.series_id,
                "at": nanoseconds(p.at),
                "value": p.value,
                **{name: v for name, v in settings.get(p.key, {}).items() if name != "key"},
            }
            for p in sorted(points, key=lambda p: (p.at, p.series_id))
        ],
    }


def _key(target: fw.ForwardingTarget, points: list[StoredPoint]) -> str:
    digest = hashlib.sha256()
    for point in sorted(points, key=lambda p: (p.series_id, p.at)):
        digest.update(f"{point.series_id}:{nanoseconds(point.at)}:{point.value!r};".encode())
    return f"forwarding:{target.id}:{digest.hexdigest()[:40]}"


async def _state(session: AsyncSession, targets: list[fw.ForwardingTarget]) -> State:
    smart = [t.id for t in targets if t.smart]
    if not smart:
        return {}
    rows = await session.execute(
        select(
            fw.ForwardingState.target_id, fw.ForwardingState.series_id, fw.ForwardingState.value, fw.ForwardingState.at
        ).where(fw.ForwardingState.target_id.in_(smart))
    )
    return {(target_id, series_id): (value, at) for target_id, series_id, value, at in rows}


async def _save_state(session: AsyncSession, before: State, after: State) -> None:
    changed = [
        {"target_id": target_id, "series_id": series_id, "value": value, "at": at}
        for (target_id, series_id), (value, at) in after.items()
        if before.get((target_id, series_id)) != (value, at)
    ]
    if not changed:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(fw.ForwardingState).values(changed)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["target_id", "series_id"],
            set_={"value": statement.excluded.value, "at": statement.excluded.at},
        )
    )


async def forward_points(session: AsyncSession, points: Sequence[StoredPoint]) -> None:
    """The handler registered on POINTS_STORED (resolvers.monitoring.domain)."""
    if not points:
        return
    location_ids = {point.location_id for point in points}
    targets = list(
        (
            await session.scalars(
                select(fw.ForwardingTarget)
                .where(fw.ForwardingTarget.location_id.in_(location_ids), fw.ForwardingTarget.enabled.is_(True))
                .order_by(fw.ForwardingTarget.id)
            )
        ).all()
    )
    if not targets:
        return
    before = await _state(session, targets)
    after = dict(before)
    deliveries = []
    for target in targets:
        chosen = _chosen(target, points, after)
        if chosen:
            kind = KINDS[fw.Platform(target.platform)]
            deliveries.append(NewDelivery(kind, target.id, _key(target, chosen), _payload(target, chosen)))
    await enqueue_many(session, deliveries)
    await _save_state(session, before, after)
