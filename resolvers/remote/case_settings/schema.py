"""Case statuses and activity types: list (anyone of the organisation), create, update, delete (PORTAL_MANAGE)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs, require_principal
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from graph.rules import UNSET, unset_if_null
from models import cases as cs
from models.identity import Permission
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.lookups import organisation_filter_pk
from resolvers.remote.case_settings import rules
from resolvers.remote.case_settings.defaults import ensure_defaults_for_read
from resolvers.remote.case_settings.loaders import (
    activity_type_visible,
    status_visible,
    visible_activity_types,
    visible_statuses,
)
from resolvers.remote.case_settings.types import ActivityType, CaseStatus
from resolvers.remote.errors import RemoteError

OrganisationArgument = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="Organisation (yours or one below it); default: your own."),
]


@strawberry.input(description="A new case status.")
class CaseStatusCreateInput:
    name: str = strawberry.field(description=f"Name, unique within the organisation (at most {rules.MAX_NAME}).")
    description: str = strawberry.field(default="", description="Description.")
    sequence: int = strawberry.field(default=0, description="Sequence number: lists are in this order.")
    hidden_in_client: bool = strawberry.field(default=False, description="Not offered in the desktop client.")
    closes_case: bool = strawberry.field(default=False, description="A case in this status is closed.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Organisation (yours or one below it); default: your own."
    )


@strawberry.input(description="Change a case status; fields left out (or null) stay.")
class CaseStatusUpdateInput:
    id: strawberry.ID = strawberry.field(description="The status.")
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=None, description="New description.")
    sequence: int | None = strawberry.field(default=None, description="New sequence number.")
    hidden_in_client: bool | None = strawberry.field(default=None, description="Not offered in the desktop client.")
    closes_case: bool | None = strawberry.field(
        default=None, description="Closes the case (cases in this status become closed, or open again)."
    )


@strawberry.input(description="A new activity type.")
class ActivityTypeCreateInput:
    name: str = strawberry.field(description=f"Name, unique within the organisation (at most {rules.MAX_NAME}).")
    description: str = strawberry.field(default="", description="Description.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Organisation (yours or one below it); default: your own."
    )


@strawberry.input(description="Change an activity type; fields left out (or null) stay.")
class ActivityTypeUpdateInput:
    id: strawberry.ID = strawberry.field(description="The activity type.")
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=None, description="New description.")


@strawberry.input(description="A case status or activity type to delete.")
class CaseSettingDeleteInput:
    id: strawberry.ID = strawberry.field(description="The case status or activity type.")


@strawberry.type(description="The case status, or why the change was refused.")
class CaseStatusPayload:
    case_status: CaseStatus | None = strawberry.field(description="The status; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The activity type, or why the change was refused.")
class ActivityTypePayload:
    activity_type: ActivityType | None = strawberry.field(description="The activity type; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted status's or activity type's ID, or why it was refused.")
class CaseSettingDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of what was deleted; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


def _maybe(value: Any, clean) -> Any:
    return UNSET if value is None else clean(value)


def status_fields(given: Any, *, partial: bool) -> dict[str, Any]:
    """The clean fields of a create or update input (on update, null fields stay: UNSET)."""
    fields = {
        "name": _maybe(given.name, rules.clean_name) if partial else rules.clean_name(given.name),
        "description": _maybe(given.description, rules.clean_description),
    }
    if hasattr(given, "sequence"):
        fields["sequence"] = _maybe(given.sequence, rules.clean_sequence)
        fields["hidden_in_client"] = unset_if_null(given.hidden_in_client)
        fields["closes_case"] = unset_if_null(given.closes_case)
    return fields


async def _listed(info: Info, model: Any, visible: Any, keys: list[SortKey], item: Any, organisation_id, page):
    principal = require_principal(info.context)
    pk = organisation_filter_pk(organisation_id, "organisationId") or principal.organisation_id
    # another tenant's organisation lists nothing, like an unknown one; the caller's get their defaults first
    if await info.context.loaders(identity_loaders.visible_organisations).load(pk) is not None:
        await ensure_defaults_for_read(info.context, pk)
    statement = select(model).where(model.organisation_id == pk, visible(principal))
    return await paginate(info.context, statement, keys, item.from_model, **page, ahead=LookAhead.of(info, item))


@strawberry.type
class CaseSettingsQuery:
    @strawberry.field(
        description="An organisation's case statuses, by sequence number and name (its defaults the first time).",
        permission_classes=[needs()],
    )
    async def case_statuses(
        self,
        info: Info,
        organisation_id: OrganisationArgument = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[CaseStatus]:
        keys = [SortKey(cs.CaseStatus.sequence), SortKey(cs.CaseStatus.name), SortKey(cs.CaseStatus.id)]
        page = {"first": first, "after": after, "last": last, "before": before}
        return await _listed(info, cs.CaseStatus, status_visible, keys, CaseStatus, organisation_id, page)

    @strawberry.field(
        description="An organisation's activity types, by name (its defaults the first time).",
        permission_classes=[needs()],
    )
    async def activity_types(
        self,
        info: Info,
        organisation_id: OrganisationArgument = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[ActivityType]:
        keys = [SortKey(cs.ActivityType.name), SortKey(cs.ActivityType.id)]
        page = {"first": first, "after": after, "last": last, "before": before}
        return await _listed(info, cs.ActivityType, activity_type_visible, keys, ActivityType, organisation_id, page)


def _status_ok(row: cs.CaseStatus) -> CaseStatusPayload:
    return CaseStatusPayload(case_status=CaseStatus.from_model(row), errors=[])


def _type_ok(row: cs.ActivityType) -> ActivityTypePayload:
    return ActivityTypePayload(activity_type=ActivityType.from_model(row), errors=[])


def _deleted(global_id: str):
    return lambda _pk: CaseSettingDeletePayload(deleted_id=strawberry.ID(global_id), errors=[])


MANAGE = [needs(Permission.PORTAL_MANAGE)]


@strawberry.type
class CaseSettingsMutation:
    @strawberry.mutation(description="Create a case status.", permission_classes=MANAGE)
    async def case_status_create(self, info: Info, input: CaseStatusCreateInput) -> CaseStatusPayload:
        context = info.context
        return await mutate(
            context,
            CaseStatusPayload,
            lambda s: rules.create(
                s, context, rules.STATUS, input.organisation_id, status_fields(input, partial=False)
            ),
            _status_ok,
        )

    @strawberry.mutation(description="Change a case status.", permission_classes=MANAGE)
    async def case_status_update(self, info: Info, input: CaseStatusUpdateInput) -> CaseStatusPayload:
        context = info.context
        return await mutate(
            context,
            CaseStatusPayload,
            lambda s: rules.update(s, context, rules.STATUS, input.id, status_fields(input, partial=True)),
            _status_ok,
        )

    @strawberry.mutation(
        description="Delete a case status; refused (IN_USE) while cases or calls have it.", permission_classes=MANAGE
    )
    async def case_status_delete(self, info: Info, input: CaseSettingDeleteInput) -> CaseSettingDeletePayload:
        context = info.context
        return await mutate(
            context,
            CaseSettingDeletePayload,
            lambda s: rules.delete(s, context, rules.STATUS, input.id),
            _deleted(input.id),
        )

    @strawberry.mutation(description="Create an activity type.", permission_classes=MANAGE)
    async def activity_type_create(self, info: Info, input: ActivityTypeCreateInput) -> ActivityTypePayload:
        context = info.context
        return await mutate(
            context,
            ActivityTypePayload,
            lambda s: rules.create(
                s, context, rules.ACTIVITY_TYPE, input.organisation_id, status_fields(input, partial=False)
            ),
            _type_ok,
        )

    @strawberry.mutation(description="Change an activity type.", permission_classes=MANAGE)
    async def activity_type_update(self, info: Info, input: ActivityTypeUpdateInput) -> ActivityTypePayload:
        context = info.context
        return await mutate(
            context,
            ActivityTypePayload,
            lambda s: rules.update(s, context, rules.ACTIVITY_TYPE, input.id, status_fields(input, partial=True)),
            _type_ok,
        )

    @strawberry.mutation(
        description="Delete an activity type; refused (IN_USE) while calls have it.", permission_classes=MANAGE
    )
    async def activity_type_delete(self, info: Info, input: CaseSettingDeleteInput) -> CaseSettingDeletePayload:
        context = info.context
        return await mutate(
            context,
            CaseSettingDeletePayload,
            lambda s: rules.delete(s, context, rules.ACTIVITY_TYPE, input.id),
            _deleted(input.id),
        )


NODE_RESOLVERS = {
    "CaseStatus": (None, node_loader(visible_statuses, CaseStatus.from_model)),
    "ActivityType": (None, node_loader(visible_activity_types, ActivityType.from_model)),
}
