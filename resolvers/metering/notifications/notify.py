"""The TRANSFER_FINISHED handler (resolvers.metering.hooks): every subscriber of the point hears of the outcome,
by mail to each of their confirmed contact addresses (the outbox) and by Web Push to each of their browsers (the
outbound-delivery queue, kind metering.push). Both are only queued here, in the transaction that records the
run, so a rolled-back outcome notifies nobody and the hook costs a few statements, never a network round trip.

An outcome is noticed once per (integration, period, succeeded) (mt.TransferNotice): a failure the scheduler
retries daily mails once, its later success once more. The notice's ID makes the push deliveries' idempotency
keys, one per (outcome, browser).

The account's own login address gets nothing: the manual sends notices to the addresses added as contacts in
the profile, each confirmed; a login address may be a phone account's placeholder, and a consumer who wants mail
there adds it as a contact.

A failure in here (a broken template, say) must not undo the run's outcome: the transfer really happened, and
rolling it back would send the period again. So the handler runs in a savepoint; on an error that savepoint is
rolled back, the error is logged, and the outcome commits without its notices.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.db import insert_or_ignore
from graph.permissions import effective_permissions
from graph.relay import to_global_id
from models import identity as m
from models import metering as mt
from models.base import utcnow
from models.identity import Permission
from models.mail import TemplateType
from resolvers.mail.sending import enqueue
from resolvers.metering.hooks import TransferFinished
from resolvers.metering.notifications.push import KIND
from resolvers.metering.notifications.texts import kind_name, push_title
from resolvers.monitoring.alarms.notifications import LINKS  # the server's link base, noted at composition
from resolvers.monitoring.delivery.queue import NewDelivery, enqueue_many

log = logging.getLogger("fleetgraph.metering.notifications")


async def notify_transfer(session: AsyncSession, finished: TransferFinished) -> None:
    """The handler registered on TRANSFER_FINISHED (see the module's docstring)."""
    try:
        async with session.begin_nested():
            await _notify(session, finished)
    except Exception as error:  # its type only: the message may quote an address
        log.error(
            "notifying the transfer of integration %s for %s failed (%s); the outcome stands without notices",
            finished.integration_id,
            finished.period,
            type(error).__name__,
        )


async def _notify(session: AsyncSession, finished: TransferFinished) -> None:
    S = mt.MeteringPointSubscription
    subscribers = list(
        (
            await session.scalars(
                select(m.User)
                .join(S, S.user_id == m.User.id)
                .where(S.metering_point_id == finished.metering_point_id, m.User.is_active.is_(True))
                .order_by(m.User.id)
            )
        ).all()
    )
    if not subscribers:  # the usual case costs this one statement
        return
    point = await session.get(mt.MeteringPoint, finished.metering_point_id)
    assert point is not None  # the run's point, in the run's transaction
    subscribers = await _still_seeing(session, point, subscribers)
    if not subscribers:
        return
    noticed = await insert_or_ignore(
        session,
        mt.TransferNotice,
        metering_point_id=finished.metering_point_id,
        integration_id=finished.integration_id,
        period=finished.period,
        succeeded=finished.succeeded,
        created_at=utcnow(),
    )
    if not noticed:
        return
    await _mail(session, finished, point, subscribers)
    await _push(session, finished, point, subscribers)


async def _still_seeing(session: AsyncSession, point: mt.MeteringPoint, subscribers: list[m.User]) -> list[m.User]:
    """The subscribers who still see the point (resolvers.metering.scope's rule, for users other than the caller):
    staff moved to another organisation, or stripped of METERING_READ, hear no more of it."""
    ids = [user.id for user in subscribers]
    roles: dict[int, set[m.Role]] = {pk: set() for pk in ids}
    granted: dict[int, set[Permission]] = {pk: set() for pk in ids}
    for user_id, role in await session.execute(
        select(m.UserRole.user_id, m.UserRole.role).where(m.UserRole.user_id.in_(ids))
    ):
        roles[user_id].add(m.Role(role))
    for user_id, permission in await session.execute(
        select(m.UserPermission.user_id, m.UserPermission.permission).where(m.UserPermission.user_id.in_(ids))
    ):
        granted[user_id].add(Permission(permission))
    wanted = {point.organisation_id} | {user.organisation_id for user in subscribers}
    paths = dict(
        (
            await session.execute(select(m.Organisation.id, m.Organisation.path).where(m.Organisation.id.in_(wanted)))
        ).all()
    )

    def sees(user: m.User) -> bool:
        mine = roles[user.id]
        if m.Role.PLATFORM_ADMIN in mine:
            return True
        if m.Role.CONSUMER in mine and not mine - {m.Role.CONSUMER}:
            return point.owner_id == user.id
        allowed = Permission.METERING_READ in effective_permissions(mine, granted[user.id])
        return allowed and paths[point.organisation_id].startswith(paths[user.organisation_id])

    return [user for user in subscribers if sees(user)]


async def _mail(
    session: AsyncSession, finished: TransferFinished, point: mt.MeteringPoint, subscribers: list[m.User]
) -> None:
    by_id = {user.id: user for user in subscribers}
    C = m.ContactEmail
    contacts = (
        await session.execute(
            select(C.user_id, C.email)
            .where(C.user_id.in_(by_id), C.confirmed_at.is_not(None))
            .order_by(C.user_id, C.id)
        )
    ).all()
    organisations = dict(
        (
            await session.execute(
                select(m.Organisation.id, m.Organisation.name).where(
                    m.Organisation.id.in_({user.organisation_id for user in subscribers})
                )
            )
        ).all()
    )
    link = f"{LINKS['base']}/metering-points/{to_global_id('MeteringPoint', point.id)}"
    for user_id, address in contacts:
        user = by_id[user_id]
        await enqueue(
            session,
            to_address=address,
            template_type=TemplateType.TRANSFER_RESULT,
            language=user.language,
            organisation_id=user.organisation_id,
            variables={
                "recipient_name": user.name,
                "organisation_name": organisations[user.organisation_id],
                "point_name": point.room_name,
                "integration_name": kind_name(finished.kind, user.language),
                "period": finished.period.isoformat(),
                "error": "" if finished.succeeded else finished.error,
                "link": link,
            },
        )


async def _push(
    session: AsyncSession, finished: TransferFinished, point: mt.MeteringPoint, subscribers: list[m.User]
) -> None:
    language = {user.id: user.language for user in subscribers}
    notice_id = await session.scalar(
        select(mt.TransferNotice.id).where(
            mt.TransferNotice.integration_id == finished.integration_id,
            mt.TransferNotice.period == finished.period,
            mt.TransferNotice.succeeded == finished.succeeded,
        )
    )
    P = mt.PushSubscription
    browsers = (await session.execute(select(P.id, P.user_id).where(P.user_id.in_(language)).order_by(P.id))).all()
    deliveries = []
    for subscription_id, user_id in browsers:
        payload = {
            "title": push_title(language[user_id], finished.succeeded),
            "body": f"{point.room_name}: {finished.period.isoformat()}"
            + ("" if finished.succeeded else f" ({finished.error})"),
            "meteringPointId": to_global_id("MeteringPoint", point.id),
            "integration": finished.kind,
            "period": finished.period.isoformat(),
            "succeeded": finished.succeeded,
        }
        deliveries.append(NewDelivery(KIND, subscription_id, f"{KIND}:{notice_id}:{subscription_id}", payload))
    await enqueue_many(session, deliveries)
