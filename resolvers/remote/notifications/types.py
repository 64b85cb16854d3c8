"""GraphQL type of notification profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import (
    Node,
    to_global_id,
)
from models import remote as r
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.types import User
from resolvers.remote.groups.types import LocationGroup
from resolvers.remote.locations.types import Location
from resolvers.remote.notifications.events import NotificationEvent, events_of
from resolvers.remote.notifications.loaders import (
    emails_by_profile,
    groups_by_profile,
    locations_by_profile,
    users_by_profile,
)


@strawberry.type(description="Who is told by mail when a router at a watched location stays offline.")
class NotificationProfile(Node):
    name: str = strawberry.field(description="Name (unique within its organisation).")
    offline_minutes: int = strawberry.field(description="A router offline for this many minutes is reported.")
    repeat_minutes: int | None = strawberry.field(
        description=(
            "While the router stays offline the mail is repeated every this many minutes; null: once per offline "
            "period."
        )
    )
    events: list[NotificationEvent] = strawberry.field(description="The events it reports.")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: r.NotificationProfile) -> NotificationProfile:
        return cls(
            id=strawberry.ID(to_global_id("NotificationProfile", row.id)),
            name=row.name,
            events=events_of(row),
            offline_minutes=row.offline_minutes,
            repeat_minutes=row.repeat_minutes,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="The organisation it belongs to.")
    @relation(
        Batched(
            identity_loaders.organisations, key=lambda profile: profile.organisation_pk, build=Organisation.from_model
        )
    )
    def organisation(self, info: Info) -> Organisation: ...

    @strawberry.field(description="Users who get the mail (in their own language), by name.")
    async def users(self, info: Info) -> list[User]:
        rows = await info.context.loaders(users_by_profile).load(self.pk)
        return [User.seen_by(info.context.principal, user, path) for user, path in rows]

    @strawberry.field(description="Further addresses that get the mail (in English), alphabetically.")
    @relation(Batched(emails_by_profile, key=lambda profile: profile.pk, many=True))
    def emails(self, info: Info) -> list[str]: ...

    @strawberry.field(description="Locations watched, by name.")
    @relation(Batched(locations_by_profile, key=lambda profile: profile.pk, build=Location.from_model, many=True))
    def locations(self, info: Info) -> list[Location]: ...

    @strawberry.field(description="Location groups watched (every location in them), by name.")
    @relation(Batched(groups_by_profile, key=lambda profile: profile.pk, build=LocationGroup.from_model, many=True))
    def location_groups(self, info: Info) -> list[LocationGroup]: ...
