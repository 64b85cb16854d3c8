"""Location access: setting who is given a location, and what a user may reach."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import false, select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, decode_id, paginate
from graph.tenancy import visible_organisation_ids
from models import identity as m
from models import remote as r
from models.identity import Permission
from resolvers.remote.access.rules import set_location_access
from resolvers.remote.access.types import LocationAccess
from resolvers.remote.errors import RemoteError
from resolvers.remote.locations.types import Location
from resolvers.remote.scope import location_managed, reachable_location_ids


@strawberry.input(description="Who is given a location directly; a list left out stays as it is.")
class LocationAccessSetInput:
    location_id: strawberry.ID = strawberry.field(description="The location (of your organisation's subtree).")
    user_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=(
            "The users given it, replacing the old list: users of its organisation's subtree or its external users."
        ),
    )
    user_group_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="The user groups given it, replacing the old list: groups of its organisation's subtree.",
    )


@strawberry.type(description="The location with its new grants, or why the change was refused.")
class LocationAccessSetPayload:
    location: Location | None = strawberry.field(description="The location; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type
class LocationAccessMutation:
    @strawberry.mutation(
        description=(
            "Set who is given a location directly (users and user groups); a user who loses it and reaches it no other "
            "way has their connection to it ended (ACCESS_REVOKED)."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_access_set(self, info: Info, input: LocationAccessSetInput) -> LocationAccessSetPayload:
        return await mutate(
            info.context,
            LocationAccessSetPayload,
            lambda s: set_location_access(s, info.context, input.location_id, input.user_ids, input.user_group_ids),
            lambda result: LocationAccessSetPayload(location=Location.from_model(result), errors=[]),
        )


def _user_known(principal, user_pk: int):
    """The user is of the caller's subtree, or an external user of an organisation of it."""
    external = select(r.ExternalUser.user_id).where(
        r.ExternalUser.user_id == user_pk, r.ExternalUser.organisation_id.in_(visible_organisation_ids(principal))
    )
    own = select(m.User.id).where(m.User.id == user_pk, m.User.organisation_id.in_(visible_organisation_ids(principal)))
    return own.union(external)


@strawberry.type
class LocationAccessQuery:
    @strawberry.field(
        description=(
            "The locations of your subtree a user (of your subtree, or an external user) was given, by name, "
            "with every "
            "reason. Managers reach their subtree without grants: their own locations are not listed here."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def effective_location_access(
        self,
        info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The user.")],
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[LocationAccess]:
        principal = info.context.principal
        pk = decode_id(user_id, "User")
        if pk is None:
            raise BadUserInput("Not a user ID.", argument="userId")
        known = pk in set(await _scalars(info.context, _user_known(principal, pk)))
        statement = select(r.Location).where(
            location_managed(principal), r.Location.id.in_(reachable_location_ids(pk)) if known else false()
        )
        keys = [SortKey(r.Location.name), SortKey(r.Location.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            lambda row: LocationAccess(location=Location.from_model(row), user_pk=pk),
            first=first,
            after=after,
            last=last,
            before=before,
        )


async def _scalars(context, statement) -> list:
    async with context.session() as session:
        return list((await session.scalars(statement)).all())
