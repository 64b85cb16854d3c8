"""Offline notification mails: a router at a location watched by a notification profile (directly or
through a location group) that has been offline for the profile's offline_minutes gets one mail per
recipient, once per offline period, or again every repeat_minutes while it stays offline.

A router that never sent a heartbeat (last_heartbeat_at null) is not reported: it was registered
but never installed, so it has not gone offline. A new offline period (the router's state_changed_at
changed) starts the count again.

Safe with several server processes: the right to send is taken by an upsert of the profile's
offline_notification row whose conflict branch only updates when a mail is due (a new offline
period, or the repeat interval passed); the statement returns a row only to the process that wrote
it. On PostgreSQL a second process waits for the first's row lock and then finds the condition
false; SQLite serialises writers. The mails go to the outbox in the same transaction, so they are
sent exactly when the row says so, and a rollback takes both back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, and_, case, literal, or_, select, union
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from graph.relay import to_global_id
from models import identity as m
from models import remote as r
from models.base import UTCDateTime
from models.mail import TemplateType
from resolvers.mail.sending import FALLBACK_LANGUAGE, enqueue

log = logging.getLogger("fleetgraph.remote.notifier")


@dataclass(frozen=True)
class Due:
    profile_id: int
    router_id: int
    offline_since: datetime


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str
    language: str


def watched_locations():
    """(profile_id, location_id) of every watched location, directly or through a location group, once."""
    return union(
        select(
            r.NotificationProfileLocation.profile_id, r.NotificationProfileLocation.location_id.label("location_id")
        ),
        select(
            r.NotificationProfileLocationGroup.profile_id, r.LocationGroupLocation.location_id.label("location_id")
        ).join(
            r.LocationGroupLocation, r.LocationGroupLocation.group_id == r.NotificationProfileLocationGroup.group_id
        ),
    ).subquery()


async def due_notifications(session: AsyncSession, now: datetime) -> list[Due]:
    """Profile x router pairs whose mail is due at `now` (the upsert checks again when it claims them)."""
    watched = watched_locations()
    rows = (
        await session.execute(
            select(
                r.NotificationProfile.id,
                r.NotificationProfile.offline_minutes,
                r.NotificationProfile.repeat_minutes,
                r.Router.id,
                r.Router.state_changed_at,
                r.OfflineNotification.offline_since,
                r.OfflineNotification.last_sent_at,
            )
            .select_from(watched)
            .join(r.NotificationProfile, r.NotificationProfile.id == watched.c.profile_id)
            .join(r.Location, r.Location.id == watched.c.location_id)
            .join(r.Router, r.Router.id == r.Location.router_id)
            .outerjoin(
                r.OfflineNotification,
                and_(
                    r.OfflineNotification.profile_id == r.NotificationProfile.id,
                    r.OfflineNotification.router_id == r.Router.id,
                ),
            )
            .where(
                r.NotificationProfile.on_offline.is_(True),  # issue 18: a profile may report other events only
                r.Router.online.is_(False),
                r.Router.last_heartbeat_at.is_not(None),
                r.Router.state_changed_at <= now - timedelta(minutes=1),
            )  # the smallest threshold there is
            .order_by(r.NotificationProfile.id, r.Router.id)
        )
    ).all()
    due = []
    for profile_id, offline_minutes, repeat_minutes, router_id, since, sent_since, last_sent_at in rows:
        if since > now - timedelta(minutes=offline_minutes):
            continue
        new_period = sent_since is None or sent_since != since
        repeat_due = (
            repeat_minutes is not None
            and last_sent_at is not None
            and last_sent_at <= now - timedelta(minutes=repeat_minutes)
        )
        if new_period or repeat_due:
            due.append(Due(profile_id, router_id, since))
    return due


async def claim(session: AsyncSession, due: Due, now: datetime, repeat_minutes: int | None) -> int | None:
    """Write the profile's row for the router if the mail is still due; the sent count, or None when
    another process (or an earlier round) already sent it, or the router came back meanwhile."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # a declarative class's __table__ is typed FromClause; a plain mapped class has a Table
    table = cast(Table, r.OfflineNotification.__table__)
    # the router must still be offline in the same period: a heartbeat since the query wins
    source = select(
        literal(due.profile_id),
        r.Router.id,
        r.Router.state_changed_at,
        literal(now, UTCDateTime()),
        literal(1),
    ).where(r.Router.id == due.router_id, r.Router.online.is_(False), r.Router.state_changed_at == due.offline_since)
    statement = insert(table).from_select(
        ["profile_id", "router_id", "offline_since", "last_sent_at", "sent_count"], source
    )
    new_period = table.c.offline_since != statement.excluded.offline_since
    when = new_period
    if repeat_minutes is not None:
        when = or_(new_period, table.c.last_sent_at <= now - timedelta(minutes=repeat_minutes))
    upsert = statement.on_conflict_do_update(
        index_elements=[table.c.profile_id, table.c.router_id],
        set_={
            "offline_since": statement.excluded.offline_since,
            "last_sent_at": statement.excluded.last_sent_at,
            "sent_count": case((new_period, 1), else_=table.c.sent_count + 1),
        },
        where=when,
    ).returning(table.c.sent_count)
    return (await session.execute(upsert)).scalar_one_or_none()


async def recipients(session: AsyncSession, profile_id: int) -> list[Recipient]:
    """Active users in their language, and the plain addresses in English (organisations have no
    language of their own); an address that is also a user's is mailed once, as the user."""
    users = (
        await session.execute(
            select(m.User.email, m.User.name, m.User.language)
            .join(r.NotificationProfileUser, r.NotificationProfileUser.user_id == m.User.id)
            .where(r.NotificationProfileUser.profile_id == profile_id, m.User.is_active.is_(True))
            .order_by(m.User.id)
        )
    ).all()
    found = [Recipient(email, name, language) for email, name, language in users]
    seen = {recipient.address for recipient in found}
    for (address,) in (
        await session.execute(
            select(r.NotificationProfileEmail.email)
            .where(r.NotificationProfileEmail.profile_id == profile_id)
            .order_by(r.NotificationProfileEmail.email)
        )
    ).all():
        if address not in seen:
            found.append(Recipient(address, address, FALLBACK_LANGUAGE))
            seen.add(address)
    return found


async def _send(session: AsyncSession, due: Due, now: datetime, public_url: str) -> int:
    profile = await session.get(r.NotificationProfile, due.profile_id)
    if profile is None:  # deleted meanwhile
        return 0
    if await claim(session, due, now, profile.repeat_minutes) is None:
        return 0
    organisation = await session.get(m.Organisation, profile.organisation_id)
    router = await session.get(r.Router, due.router_id)
    # the profile references its organisation (a foreign key), and claim just read the router's row
    assert organisation is not None and router is not None
    location = await session.scalar(select(r.Location).where(r.Location.router_id == router.id))
    variables = {
        "organisation_name": organisation.name,
        "profile_name": profile.name,
        "router_name": router.common_name,
        "location_name": location.name if location else "",
        "offline_since": due.offline_since.strftime("%Y-%m-%d %H:%M UTC"),
        "offline_minutes": int((now - due.offline_since).total_seconds() // 60),
        "link": f"{public_url.rstrip('/')}/locations/{to_global_id('Location', location.id)}"
        if location
        else public_url,
    }
    sent = 0
    for recipient in await recipients(session, profile.id):
        await enqueue(
            session,
            to_address=recipient.address,
            template_type=TemplateType.ROUTER_OFFLINE,
            language=recipient.language,
            organisation_id=profile.organisation_id,
            variables={**variables, "recipient_name": recipient.name},
        )
        sent += 1
    return sent


async def notify_offline_routers(session_factory, now: datetime, *, public_url: str = "") -> int:
    """Queue the offline mails due at `now`, one transaction per profile and router; returns how many
    mails were queued."""
    async with session_factory() as session:
        due = await due_notifications(session, now)
    queued = 0
    for item in due:
        async with session_factory() as session, session.begin():
            queued += await _send(session, item, now, public_url)
    if queued:
        log.info("%d offline notification mail(s) queued", queued)
    return queued
