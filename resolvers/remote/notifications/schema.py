"""Notification profiles: list, create, update, delete."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.filters import filter_text
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import (
    Connection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    node_loader,
    paginate,
)
from models import remote as r
from models.identity import Permission
from resolvers.remote.errors import RemoteError
from resolvers.remote.notifications.events import NotificationEvent
from resolvers.remote.notifications.loaders import profile_visible, visible_profiles
from resolvers.remote.notifications.rules import (
    MAX_EMAILS,
    MAX_GROUPS,
    MAX_LOCATIONS,
    MAX_MINUTES,
    MAX_USERS,
    create_profile,
    delete_profile,
    update_profile,
)
from resolvers.remote.notifications.types import NotificationProfile
from resolvers.remote.scope import MAX_TEXT


@strawberry.input(description="A new notification profile.")
class NotificationProfileCreateInput:
    name: str = strawberry.field(description="Name, unique within the organisation (at most 200 characters).")
    offline_minutes: int = strawberry.field(
        description=f"Report a router offline for this many minutes (1-{MAX_MINUTES})."
    )
    repeat_minutes: int | None = strawberry.field(
        default=None, description=f"Repeat every this many minutes while still offline (1-{MAX_MINUTES}); null: once."
    )
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Organisation (yours or a descendant); default: your own."
    )
    user_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=f"Users of the organisation (or below it) or its external users (at most {MAX_USERS}).",
    )
    emails: list[str] | None = strawberry.field(
        default=None, description=f"Further e-mail addresses (at most {MAX_EMAILS}; duplicates are dropped)."
    )
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description=f"Locations of the organisation to watch (at most {MAX_LOCATIONS})."
    )
    location_group_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description=f"Location groups of the organisation to watch (at most {MAX_GROUPS})."
    )
    events: list[NotificationEvent] | None = strawberry.field(
        default=None, description="The events to report (at least one); left out: OFFLINE only."
    )


@strawberry.input(description="Change a notification profile; fields left out stay, a list given replaces the old one.")
class NotificationProfileUpdateInput:
    id: strawberry.ID = strawberry.field(description="The profile.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    offline_minutes: int | None = strawberry.field(default=strawberry.UNSET, description="New threshold in minutes.")
    repeat_minutes: int | None = strawberry.field(
        default=strawberry.UNSET, description="New repeat interval in minutes; null: once per offline period."
    )
    user_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The new list of users."
    )
    emails: list[str] | None = strawberry.field(default=strawberry.UNSET, description="The new list of addresses.")
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The new list of locations."
    )
    location_group_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The new list of location groups."
    )
    events: list[NotificationEvent] | None = strawberry.field(
        default=strawberry.UNSET, description="The events to report (at least one); null: OFFLINE only."
    )


@strawberry.input(description="A notification profile to delete.")
class NotificationProfileDeleteInput:
    id: strawberry.ID = strawberry.field(description="The profile.")


@strawberry.type(description="The notification profile, or why the change was refused.")
class NotificationProfilePayload:
    notification_profile: NotificationProfile | None = strawberry.field(description="The profile; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted profile's ID, or why it was refused.")
class NotificationProfileDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted profile; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="Narrow the notification profile list.")
class NotificationProfileFilter:
    name_contains: str | None = strawberry.field(default=None, description="Name contains this text (any case).")


def profile_payload(result) -> NotificationProfilePayload:
    return NotificationProfilePayload(notification_profile=NotificationProfile.from_model(result), errors=[])


@strawberry.type
class NotificationProfileQuery:
    @strawberry.field(
        description="Notification profiles of your organisation's subtree, by name.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def notification_profiles(
        self,
        info: Info,
        filter: Annotated[
            NotificationProfileFilter | None, strawberry.argument(description="Conditions the profiles must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[NotificationProfile]:
        statement = select(r.NotificationProfile).where(profile_visible(info.context.principal))
        if filter is not None and filter.name_contains:
            text = filter_text(filter.name_contains, "filter.nameContains", MAX_TEXT)
            statement = statement.where(r.NotificationProfile.name.icontains(text, autoescape=True))
        keys = [SortKey(r.NotificationProfile.name), SortKey(r.NotificationProfile.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            NotificationProfile.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, NotificationProfile),
        )


@strawberry.type
class NotificationProfileMutation:
    @strawberry.mutation(
        description="Create a notification profile: who is told when a watched location's router stays offline.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def notification_profile_create(
        self, info: Info, input: NotificationProfileCreateInput
    ) -> NotificationProfilePayload:
        return await mutate(
            info.context,
            NotificationProfilePayload,
            lambda s: create_profile(
                s,
                info.context,
                name=input.name,
                organisation_id=input.organisation_id,
                offline_minutes=input.offline_minutes,
                repeat_minutes=input.repeat_minutes,
                user_ids=input.user_ids,
                emails=input.emails,
                location_ids=input.location_ids,
                group_ids=input.location_group_ids,
                events=input.events,
            ),
            profile_payload,
        )

    @strawberry.mutation(
        description="Change a notification profile; fields left out stay, lists given replace the old ones.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def notification_profile_update(
        self, info: Info, input: NotificationProfileUpdateInput
    ) -> NotificationProfilePayload:
        return await mutate(
            info.context,
            NotificationProfilePayload,
            lambda s: update_profile(
                s,
                info.context,
                input.id,
                name=input.name,
                offline_minutes=input.offline_minutes,
                repeat_minutes=input.repeat_minutes,
                user_ids=input.user_ids,
                emails=input.emails,
                location_ids=input.location_ids,
                group_ids=input.location_group_ids,
                events=input.events,
            ),
            profile_payload,
        )

    @strawberry.mutation(
        description="Delete a notification profile.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def notification_profile_delete(
        self, info: Info, input: NotificationProfileDeleteInput
    ) -> NotificationProfileDeletePayload:
        return await mutate(
            info.context,
            NotificationProfileDeletePayload,
            lambda s: delete_profile(s, info.context, input.id),
            lambda result: NotificationProfileDeletePayload(deleted_id=input.id, errors=[]),
        )


NODE_RESOLVERS = {
    "NotificationProfile": (Permission.LOCATIONS_MANAGE, node_loader(visible_profiles, NotificationProfile.from_model)),
}
