"""Alarm notifications (the manual's §21.11): per user of an organisation, e-mail for all or chosen alarm
profiles, when an alarm of the organisation's locations is raised, repeated (changed) or cleared.

Holders of MONITORING_MANAGE set them for users of their subtree. The mails go through the outbox with the
ALARM template type, in the recipient's language, queued in the transaction that changed the alarm (a
rolled-back ingest mails nothing); finding the recipients of all the alarms a batch changed is one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id, to_global_id
from graph.rules import decode_ids
from graph.tenancy import path_visible, target_organisation, visible_organisation_ids
from models import alarms as al
from models import identity as m
from models import remote as r
from models.mail import TemplateType
from resolvers.audit.rules import record
from resolvers.mail.sending import enqueue
from resolvers.monitoring.alarms.loaders import profile_visible
from resolvers.monitoring.errors import MonitoringErrorCode as Code

MAX_PROFILES = 200
#: The base of the links in the mails (graph.settings link_base_url), noted when the server is composed:
#: the hook that raises alarms has a session, not the runtime.
LINKS = {"base": ""}
#: Which flag of a setting each kind of change asks for.
FLAGS = {"RAISED": "on_raise", "UPDATED": "on_change", "CLEARED": "on_clear"}


def note_link_base(runtime: Any) -> None:
    """A Domain.workers factory that starts nothing: it notes the server's link base for the mails."""
    LINKS["base"] = runtime.settings.link_base_url.rstrip("/")


async def _user_of(session: AsyncSession, context: Context, organisation: m.Organisation, user_id: str) -> int:
    pk = decode_id(user_id, "User")
    row = None
    if pk is not None:
        row = (
            await session.execute(
                select(m.User.id, m.Organisation.path)
                .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
                .where(
                    m.User.id == pk, m.User.organisation_id.in_(visible_organisation_ids(require_principal(context)))
                )
            )
        ).first()
    if row is None:
        raise DomainError(Code.NOT_FOUND, "No such user.", "userId")
    if not row.path.startswith(organisation.path):
        raise DomainError(Code.WRONG_ORGANISATION, "The user is not of the organisation (or below it).", "userId")
    return row.id


async def _profiles_of(session: AsyncSession, context: Context, organisation_id: int, values) -> list[int]:
    """System profiles and the organisation's own."""
    wanted = decode_ids(values, "AlarmProfile", "profileIds", limit=MAX_PROFILES)
    if not wanted:
        return []
    owners = dict(
        (
            await session.execute(
                select(al.AlarmProfile.id, al.AlarmProfile.organisation_id).where(
                    al.AlarmProfile.id.in_([pk for _, pk in wanted]), profile_visible(context.principal)
                )
            )
        ).all()
    )
    for index, pk in wanted:
        if pk not in owners:
            raise DomainError(Code.NOT_FOUND, "No such alarm profile.", ["profileIds", str(index)])
        if owners[pk] not in (None, organisation_id):
            raise DomainError(
                Code.WRONG_ORGANISATION, "The profile belongs to another organisation.", ["profileIds", str(index)]
            )
    return [pk for _, pk in wanted]


async def set_notification(session: AsyncSession, context: Context, given) -> al.AlarmNotificationSetting:
    """Create or replace a user's setting for an organisation (`given`: the input)."""
    organisation = await target_organisation(
        session, require_principal(context), given.organisation_id, "organisationId"
    )
    user_pk = await _user_of(session, context, organisation, given.user_id)
    chosen = [] if given.all_profiles else await _profiles_of(session, context, organisation.id, given.profile_ids)
    if not given.all_profiles and not chosen:
        raise DomainError(Code.REQUIRED, "Choose at least one profile, or all profiles.", "profileIds")
    setting = await session.scalar(
        select(al.AlarmNotificationSetting).where(
            al.AlarmNotificationSetting.organisation_id == organisation.id,
            al.AlarmNotificationSetting.user_id == user_pk,
        )
    )
    if setting is None:
        setting = al.AlarmNotificationSetting(organisation_id=organisation.id, user_id=user_pk)
        session.add(setting)
    setting.email, setting.all_profiles = given.email, given.all_profiles
    setting.on_raise, setting.on_change, setting.on_clear = given.on_raise, given.on_change, given.on_clear
    await session.flush()
    await session.execute(
        delete(al.AlarmNotificationProfile).where(al.AlarmNotificationProfile.setting_id == setting.id)
    )
    session.add_all(al.AlarmNotificationProfile(setting_id=setting.id, profile_id=pk) for pk in chosen)
    await session.flush()
    # a user's setting of an organisation, about no one location: no location_id
    await record(
        session,
        context,
        "alarm_notification.set",
        organisation_id=organisation.id,
        target_type="User",
        target_id=user_pk,
        details={"email": setting.email, "profiles": len(chosen) if chosen else "all"},
    )
    return setting


async def remove_notification(session: AsyncSession, context: Context, setting_id: str) -> int:
    pk = decode_id(setting_id, "AlarmNotificationSetting")
    setting = None
    if pk is not None:
        setting = await session.get(al.AlarmNotificationSetting, pk)
    organisation = await session.get(m.Organisation, setting.organisation_id) if setting else None
    if setting is None or organisation is None or not path_visible(require_principal(context), organisation.path):
        raise DomainError(Code.NOT_FOUND, "No such alarm notification setting.", "id")
    user_pk = setting.user_id
    await session.delete(setting)
    await session.flush()
    # a user's setting of an organisation, about no one location: no location_id
    await record(
        session,
        context,
        "alarm_notification.removed",
        organisation_id=organisation.id,
        target_type="User",
        target_id=user_pk,
    )
    return pk  # type: ignore[return-value]  # found above


async def _recipients(session: AsyncSession, organisation_ids: set[int]) -> list[Any]:
    """Active users with e-mail on, with their chosen profiles (NULL: all), for these organisations."""
    setting = al.AlarmNotificationSetting
    return list(
        (
            await session.execute(
                select(
                    setting,
                    m.User.email,
                    m.User.name,
                    m.User.language,
                    m.Organisation.name.label("organisation"),
                    al.AlarmNotificationProfile.profile_id,
                )
                .join(m.User, m.User.id == setting.user_id)
                .join(m.Organisation, m.Organisation.id == setting.organisation_id)
                .outerjoin(al.AlarmNotificationProfile, al.AlarmNotificationProfile.setting_id == setting.id)
                .where(
                    setting.organisation_id.in_(organisation_ids), setting.email.is_(True), m.User.is_active.is_(True)
                )
            )
        ).all()
    )


async def mail_alarm_changes(session: AsyncSession, changed: Sequence[tuple[str, Any]], now: datetime) -> None:
    """Queue the mails the settings ask for about these changes (kind, row of engine.EVENT_COLUMNS)."""
    relevant = [(kind, row) for kind, row in changed if kind in FLAGS]
    if not relevant:
        return
    rows = await _recipients(session, {row.organisation_id for _, row in relevant})
    if not rows:
        return
    chosen: dict[int, set[int]] = {}
    for row in rows:
        chosen.setdefault(row[0].id, set()).update([row.profile_id] if row.profile_id is not None else [])
    alarms = {
        alarm.id: (alarm, location, device)
        for alarm, location, device in (
            await session.execute(
                select(al.Alarm, r.Location.name, r.LocationDevice.name)
                .join(r.Location, r.Location.id == al.Alarm.location_id)
                .outerjoin(r.LocationDevice, r.LocationDevice.id == al.Alarm.device_id)
                .where(al.Alarm.id.in_({row.id for _, row in relevant}))
                .execution_options(populate_existing=True)  # the rows were just changed by UPDATE statements
            )
        ).all()
    }
    sent: set[tuple[int, int]] = set()
    for kind, changed_row in relevant:
        alarm, location, device = alarms[changed_row.id]
        for row in rows:
            setting = row[0]
            if (setting.id, alarm.id) in sent or setting.organisation_id != alarm.organisation_id:
                continue
            if not getattr(setting, FLAGS[kind]) or not (
                setting.all_profiles or alarm.profile_id in chosen[setting.id]
            ):
                continue
            sent.add((setting.id, alarm.id))
            await enqueue(
                session,
                to_address=row.email,
                template_type=TemplateType.ALARM,
                language=row.language,
                organisation_id=alarm.organisation_id,
                variables={
                    "recipient_name": row.name,
                    "organisation_name": row.organisation,
                    "profile_name": alarm.profile_name,
                    "severity": alarm.severity.value,
                    "event": kind,
                    "location_name": location,
                    "device_name": device or "",
                    "reading": f"{alarm.last_key} = {alarm.last_value}" if alarm.last_key else "",
                    "at": now.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    "link": f"{LINKS['base']}/alarms/{to_global_id('Alarm', alarm.id)}",
                },
            )
