"""effectiveAccess(locationId): everyone who reaches a location, managers included, with every reason."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, decode_id, paginate
from models import identity as m
from models import remote as r
from models.identity import Permission
from resolvers.remote.effective.loaders import reacher_ids
from resolvers.remote.effective.types import LocationAccessor
from resolvers.remote.scope import location_managed


@strawberry.type
class EffectiveAccessQuery:
    @strawberry.field(
        description=(
            "Everyone who can reach a location of your subtree, by name: users given it (directly, through a user "
            "group or a location group), external users, and the managers of its organisation (LOCATIONS_MANAGE over "
            "it), each with every reason. Platform admins and deactivated users are not listed."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def effective_access(
        self,
        info: Info,
        location_id: Annotated[strawberry.ID, strawberry.argument(description="The location (of your subtree).")],
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[LocationAccessor]:
        pk = decode_id(location_id, "Location")
        if pk is None:
            raise BadUserInput("Not a location ID.", argument="locationId")
        # another tenant's location lists nobody, exactly like an unknown one
        managed = select(r.Location.id).where(r.Location.id == pk, location_managed(info.context.principal))
        statement = select(m.User).where(m.User.is_active.is_(True), m.User.id.in_(reacher_ids(pk)), managed.exists())
        keys = [SortKey(m.User.name), SortKey(m.User.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            lambda row: LocationAccessor(location_pk=pk, row=row),
            first=first,
            after=after,
            last=last,
            before=before,
        )
