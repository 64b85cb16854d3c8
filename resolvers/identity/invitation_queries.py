"""Invitation queries: the invitations list (within the caller's subtree) and node lookup."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from sqlalchemy import and_, or_, select
from strawberry.types import Info

from graph.filters import contains
from graph.loaders import by_key
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from graph.tenancy import visible_organisation_ids
from models import identity as m
from models.base import utcnow
from resolvers.identity.invitation_types import Invitation, InvitationStateEnum
from resolvers.identity.invitations import OPEN
from resolvers.identity.queries import _organisation_pk


@strawberry.input(description="Narrow the invitations list; all given conditions must hold.")
class InvitationFilter:
    state: InvitationStateEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="In this state (as shown: open invitations past their expiry are EXPIRED)."
    )
    name: str | None = strawberry.field(default=None, description="Name contains (case-insensitive).")
    email: str | None = strawberry.field(default=None, description="E-mail contains (case-insensitive).")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="Invited to this organisation.")


def _state_condition(state: m.InvitationState):
    """The stored state alone is not enough: expiry is evaluated when read."""
    now = utcnow()
    if state in OPEN:
        return and_(m.Invitation.state == state, m.Invitation.expires_at > now)
    if state == m.InvitationState.EXPIRED:
        return or_(
            m.Invitation.state == state,
            and_(m.Invitation.state.in_(OPEN), m.Invitation.expires_at <= now),
        )
    return m.Invitation.state == state


async def visible_invitations(context, ids: Sequence[int]) -> list[m.Invitation | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(m.Invitation).where(
                    m.Invitation.id.in_(ids),
                    m.Invitation.organisation_id.in_(visible_organisation_ids(context.principal)),
                )
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


@strawberry.type
class InvitationQuery:
    @strawberry.field(
        description="Invitations to your organisation and its descendants, newest first.",
        permission_classes=[needs(m.Permission.INVITATIONS_MANAGE)],
    )
    async def invitations(
        self,
        info: Info,
        filter: InvitationFilter | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Invitation]:
        statement = select(m.Invitation).where(
            m.Invitation.organisation_id.in_(visible_organisation_ids(info.context.principal))
        )
        if filter is not None:
            if filter.state is not None:
                statement = statement.where(_state_condition(m.InvitationState(filter.state)))
            if filter.name:
                statement = statement.where(contains(m.Invitation.name, filter.name, "filter.name"))
            if filter.email:
                statement = statement.where(contains(m.Invitation.email, filter.email, "filter.email"))
            if filter.organisation_id is not None:
                statement = statement.where(
                    m.Invitation.organisation_id == _organisation_pk(filter.organisation_id, "filter.organisationId")
                )
        keys = [SortKey(m.Invitation.created_at, True), SortKey(m.Invitation.id, True)]
        return await paginate(
            info.context, statement, keys, Invitation.from_model, first=first, after=after, last=last, before=before
        )


NODE_RESOLVERS = {
    "Invitation": (m.Permission.INVITATIONS_MANAGE, node_loader(visible_invitations, Invitation.from_model))
}
