"""Fault and standstill notification mails (issue 18): a notification profile that chose FAULT or STANDSTILL
mails its recipients once per transition of a watched router's reported condition: a fault appears (or
changes its code) or clears, the machine behind the router starts or ends a standstill. The router's latest
status sample is its condition (a report without a fault means none; standstill left out means running).

The profile's condition_notification row holds the state it last reported per router and kind. The right to
send is taken by an upsert whose conflict branch only updates when the state differs, and which returns a
row only to the process that wrote it (as for offline mails, resolvers.remote.workers.notifier); the mails
go to the outbox in the same transaction. A profile that starts watching a router with a fault reports it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from graph.relay import to_global_id
from models import identity as m
from models import remote as r
from models.mail import TemplateType
from resolvers.mail.sending import enqueue
from resolvers.remote.workers.notifier import recipients, watched_locations

log = logging.getLogger("fleetgraph.remote.conditions")

FAULT, STANDSTILL = r.ConditionKind.FAULT, r.ConditionKind.STANDSTILL
#: The state a standstill is stored as ("" is running / no fault).
STANDING = "STANDSTILL"


@dataclass(frozen=True)
class Change:
    profile_id: int
    router_id: int
    location_id: int
    kind: r.ConditionKind
    state: str
    message: str

    @property
    def event(self) -> str:
        if self.kind == FAULT:
            return "FAULT_RAISED" if self.state else "FAULT_CLEARED"
        return "STANDSTILL_STARTED" if self.state else "STANDSTILL_ENDED"


async def condition_changes(session: AsyncSession, now: datetime) -> list[Change]:
    """Profile x router x kind whose reported state differs from the router's latest status (claim checks again)."""
    watched = watched_locations()
    sample = r.RouterStatusSample
    latest = (
        select(sample.id)
        .where(sample.router_id == r.Router.id)
        .order_by(sample.taken_at.desc(), sample.id.desc())
        .limit(1)
        .correlate(r.Router)
        .scalar_subquery()
    )  # one index lookup per router (ix_router_status_sample_router_taken)
    fault, standing = aliased(r.ConditionNotification), aliased(r.ConditionNotification)
    P = r.NotificationProfile
    rows = (
        await session.execute(
            select(
                P.id,
                P.on_fault,
                P.on_standstill,
                r.Router.id,
                r.Location.id,
                sample.fault_code,
                sample.fault_message,
                sample.standstill,
                fault.state,
                standing.state,
            )
            .select_from(watched)
            .join(P, P.id == watched.c.profile_id)
            .join(r.Location, r.Location.id == watched.c.location_id)
            .join(r.Router, r.Router.id == r.Location.router_id)
            .join(sample, sample.id == latest)
            .outerjoin(fault, and_(fault.profile_id == P.id, fault.router_id == r.Router.id, fault.kind == FAULT))
            .outerjoin(
                standing,
                and_(standing.profile_id == P.id, standing.router_id == r.Router.id, standing.kind == STANDSTILL),
            )
            .where(or_(P.on_fault.is_(True), P.on_standstill.is_(True)))
            .order_by(P.id, r.Router.id)
        )
    ).all()
    changes = []
    for profile, on_fault, on_standstill, router, location, code, message, still, told_fault, told_still in rows:
        if on_fault and code != (told_fault or ""):
            changes.append(Change(profile, router, location, FAULT, code, message))
        state = STANDING if still else ""
        if on_standstill and state != (told_still or ""):
            changes.append(Change(profile, router, location, STANDSTILL, state, ""))
    return changes


async def claim(session: AsyncSession, change: Change, now: datetime) -> bool:
    """Write the profile's reported state unless it is already this one: True for the one process that wrote it."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, r.ConditionNotification.__table__)
    statement = insert(table).values(
        profile_id=change.profile_id, router_id=change.router_id, kind=change.kind, state=change.state, changed_at=now
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[table.c.profile_id, table.c.router_id, table.c.kind],
        set_={"state": statement.excluded.state, "changed_at": statement.excluded.changed_at},
        where=table.c.state != statement.excluded.state,
    ).returning(table.c.profile_id)
    return (await session.execute(upsert)).first() is not None


async def send(session: AsyncSession, change: Change, now: datetime, public_url: str) -> int:
    profile = await session.get(r.NotificationProfile, change.profile_id)
    if profile is None or not await claim(session, change, now):  # deleted meanwhile, or told already
        return 0
    organisation = await session.get(m.Organisation, profile.organisation_id)
    router = await session.get(r.Router, change.router_id)
    location = await session.get(r.Location, change.location_id)
    assert organisation is not None and router is not None and location is not None  # rows just joined
    detail = ": ".join(part for part in (change.state, change.message) if part) if change.kind == FAULT else ""
    variables = {
        "organisation_name": organisation.name,
        "profile_name": profile.name,
        "router_name": router.common_name,
        "location_name": location.name,
        "event": change.event,
        "detail": detail,
        "at": now.strftime("%Y-%m-%d %H:%M UTC"),
        "link": f"{public_url.rstrip('/')}/locations/{to_global_id('Location', location.id)}",
    }
    sent = 0
    for recipient in await recipients(session, profile.id):
        await enqueue(
            session,
            to_address=recipient.address,
            template_type=TemplateType.ROUTER_CONDITION,
            language=recipient.language,
            organisation_id=profile.organisation_id,
            variables={**variables, "recipient_name": recipient.name},
        )
        sent += 1
    return sent


async def notify_condition_changes(session_factory, now: datetime, *, public_url: str = "") -> int:
    """Queue the fault and standstill mails due at `now`, one transaction per change; how many were queued."""
    async with session_factory() as session:
        changes = await condition_changes(session, now)
    queued = 0
    for change in changes:
        async with session_factory() as session, session.begin():
            queued += await send(session, change, now, public_url)
    if queued:
        log.info("%d fault/standstill notification mail(s) queued", queued)
    return queued
