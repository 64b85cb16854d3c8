"""Alarm notification settings (§21.11): list, set, remove (MONITORING_MANAGE)."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.lookahead import Batched, LookAhead, relation
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, Node, PageAfter, PageBefore, PageFirst, PageLast, SortKey, paginate, to_global_id
from graph.tenancy import visible_organisation_ids
from models import alarms as al
from models import identity as m
from models.identity import Permission
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.monitoring.alarms.notifications import MAX_PROFILES, remove_notification, set_notification
from resolvers.monitoring.alarms.types import AlarmProfile
from resolvers.monitoring.errors import MonitoringError
from resolvers.remote.access.loaders import linked_rows


async def profiles_by_setting(context, setting_ids) -> list[list[al.AlarmProfile]]:
    return await linked_rows(
        context,
        al.AlarmNotificationProfile.setting_id,
        al.AlarmProfile,
        al.AlarmProfile.id == al.AlarmNotificationProfile.profile_id,
        setting_ids,
        al.AlarmProfile.name,
        al.AlarmProfile.id,
    )


async def user_emails(context, user_ids) -> list[str | None]:
    """The settings' users' addresses (whoever sees a setting manages its organisation's users)."""
    async with context.session() as session:
        found = dict((await session.execute(select(m.User.id, m.User.email).where(m.User.id.in_(user_ids)))).all())
    return [found.get(pk) for pk in user_ids]


@strawberry.type(description="Who is mailed about the alarms of an organisation's locations, and when.")
class AlarmNotificationSetting(Node):
    email: bool = strawberry.field(description="Mails are on.")
    all_profiles: bool = strawberry.field(description="For the alarms of every profile (else: `profiles`).")
    on_raise: bool = strawberry.field(description="Mail when an alarm is raised.")
    on_change: bool = strawberry.field(description="Mail when an open alarm is repeated (its value changed).")
    on_clear: bool = strawberry.field(description="Mail when an alarm is cleared.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    user_pk: strawberry.Private[int]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: al.AlarmNotificationSetting) -> AlarmNotificationSetting:
        return cls(
            id=strawberry.ID(to_global_id("AlarmNotificationSetting", row.id)),
            user_pk=row.user_id,
            email=row.email,
            all_profiles=row.all_profiles,
            on_raise=row.on_raise,
            on_change=row.on_change,
            on_clear=row.on_clear,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="The user's e-mail address (the mails go there).")
    @relation(Batched(user_emails, key=lambda item: item.user_pk))
    def user_email(self, info: Info) -> str: ...

    @strawberry.field(description="The organisation whose locations' alarms are mailed.")
    @relation(
        Batched(identity_loaders.organisations, key=lambda item: item.organisation_pk, build=Organisation.from_model)
    )
    def organisation(self, info: Info) -> Organisation: ...

    @strawberry.field(description="The chosen profiles (empty with allProfiles), by name.")
    @relation(Batched(profiles_by_setting, key=lambda item: item.pk, build=AlarmProfile.from_model, many=True))
    def profiles(self, info: Info) -> list[AlarmProfile]: ...


@strawberry.input(description="A user's alarm mails for an organisation (replaces the user's earlier setting there).")
class AlarmNotificationSettingSetInput:
    user_id: strawberry.ID = strawberry.field(description="A user of the organisation or below it.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Organisation (yours or a descendant); default: your own."
    )
    email: bool = strawberry.field(default=True, description="Mails on or off.")
    all_profiles: bool = strawberry.field(default=True, description="For every profile; false: only `profileIds`.")
    profile_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description=f"The chosen profiles (system or the organisation's; at most {MAX_PROFILES})."
    )
    on_raise: bool = strawberry.field(default=True, description="Mail when an alarm is raised.")
    on_change: bool = strawberry.field(default=False, description="Mail when an open alarm is repeated.")
    on_clear: bool = strawberry.field(default=True, description="Mail when an alarm is cleared.")


@strawberry.input(description="An alarm notification setting to remove.")
class AlarmNotificationSettingRemoveInput:
    id: strawberry.ID = strawberry.field(description="The setting.")


@strawberry.type(description="The setting, or why it was refused.")
class AlarmNotificationSettingPayload:
    setting: AlarmNotificationSetting | None = strawberry.field(description="The setting; null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The removed setting's ID, or why it was refused.")
class AlarmNotificationSettingRemovePayload:
    removed_id: strawberry.ID | None = strawberry.field(description="ID of the removed setting; null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


def _payload(setting: al.AlarmNotificationSetting) -> AlarmNotificationSettingPayload:
    return AlarmNotificationSettingPayload(setting=AlarmNotificationSetting.from_model(setting), errors=[])


def _visible(principal):
    return al.AlarmNotificationSetting.organisation_id.in_(visible_organisation_ids(principal))


@strawberry.type
class AlarmNotificationQuery:
    @strawberry.field(
        description="Alarm notification settings of your organisation's subtree, by user e-mail address.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def alarm_notification_settings(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[AlarmNotificationSetting]:
        return await paginate(
            info.context,
            select(al.AlarmNotificationSetting).where(_visible(info.context.principal)),
            [SortKey(al.AlarmNotificationSetting.id)],
            AlarmNotificationSetting.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, AlarmNotificationSetting),
        )


@strawberry.type
class AlarmNotificationMutation:
    @strawberry.mutation(
        description="Set which alarm mails a user gets for an organisation's locations (replaces an earlier one).",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def alarm_notification_setting_set(
        self, info: Info, input: AlarmNotificationSettingSetInput
    ) -> AlarmNotificationSettingPayload:
        return await mutate(
            info.context,
            AlarmNotificationSettingPayload,
            lambda s: set_notification(s, info.context, input),
            _payload,
        )

    @strawberry.mutation(
        description="Remove a user's alarm mails for an organisation.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def alarm_notification_setting_remove(
        self, info: Info, input: AlarmNotificationSettingRemoveInput
    ) -> AlarmNotificationSettingRemovePayload:
        return await mutate(
            info.context,
            AlarmNotificationSettingRemovePayload,
            lambda s: remove_notification(s, info.context, input.id),
            lambda result: AlarmNotificationSettingRemovePayload(removed_id=input.id, errors=[]),
        )
