"""External users: inviting, accepting, declining, removing; the lists of both sides."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput
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
    decode_id,
    node_loader,
    paginate,
    to_global_id,
)
from graph.tenancy import visible_organisation_ids
from models import identity as m
from models import remote as r
from models.identity import Permission
from resolvers.remote.errors import RemoteError
from resolvers.remote.external.loaders import invited_side, visible_invitations
from resolvers.remote.external.rules import (
    accept_invitation,
    add_external_user,
    delete_invitation,
    remove_external_user,
)
from resolvers.remote.external.types import ExternalUser, ExternalUserInvitation


@strawberry.input(
    description="Invite a user of another organisation in, by e-mail address, or (manual §3.2) by their company "
    "number, username and e-mail address."
)
class ExternalUserAddInput:
    email: str = strawberry.field(description="E-mail address of the user to invite.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The organisation (of your subtree); default yours."
    )
    customer_number: str | None = strawberry.field(
        default=None,
        description="The company number (customer number) of the user's organisation; with username, all three "
        "must name one user of that organisation (NOT_FOUND otherwise, whichever part is wrong).",
    )
    username: str | None = strawberry.field(default=None, description="The user's username, with customerNumber.")


@strawberry.input(description="An external user to remove.")
class ExternalUserRemoveInput:
    user_id: strawberry.ID = strawberry.field(description="The external user.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The organisation (of your subtree); default yours."
    )


@strawberry.input(description="An external user invitation.")
class ExternalUserInvitationIdInput:
    id: strawberry.ID = strawberry.field(description="The invitation.")


@strawberry.type(description="The invitation, or why none was made.")
class ExternalUserAddPayload:
    invitation: ExternalUserInvitation | None = strawberry.field(
        description=(
            "The pending invitation (the user is external once they or their organisation's admin accept it); "
            "null when refused."
        )
    )
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The new external user, or why the invitation was not accepted.")
class ExternalUserInvitationAcceptPayload:
    external_user: ExternalUser | None = strawberry.field(description="The external user; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted invitation's ID, or why it was refused.")
class ExternalUserInvitationDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted invitation; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The removed external user's ID, or why it was refused.")
class ExternalUserRemovePayload:
    removed_user_id: strawberry.ID | None = strawberry.field(description="ID of the removed user; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type
class ExternalUserMutation:
    @strawberry.mutation(
        description=(
            "Invite the holder of an e-mail address in as an external user. The answer is the same for every "
            "valid address "
            "outside the organisation (whether anybody has it or not); they are external once they accept."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def external_user_add(self, info: Info, input: ExternalUserAddInput) -> ExternalUserAddPayload:
        context = info.context
        return await mutate(
            context,
            ExternalUserAddPayload,
            lambda s: add_external_user(
                s, context, input.email, input.organisation_id, input.customer_number, input.username
            ),
            lambda result: ExternalUserAddPayload(invitation=ExternalUserInvitation.from_row(result), errors=[]),
        )

    @strawberry.mutation(
        description="Accept an invitation addressed to you (or, with USERS_MANAGE, to a user of your organisations).",
        permission_classes=[needs()],
    )
    async def external_user_invitation_accept(
        self, info: Info, input: ExternalUserInvitationIdInput
    ) -> ExternalUserInvitationAcceptPayload:
        return await mutate(
            info.context,
            ExternalUserInvitationAcceptPayload,
            lambda s: accept_invitation(s, info.context, input.id),
            lambda result: ExternalUserInvitationAcceptPayload(
                external_user=ExternalUser.from_model(result), errors=[]
            ),
        )

    @strawberry.mutation(
        description=(
            "Decline an invitation addressed to you (or to a user of your organisations), or withdraw one you made."
        ),
        permission_classes=[needs()],
    )
    async def external_user_invitation_delete(
        self, info: Info, input: ExternalUserInvitationIdInput
    ) -> ExternalUserInvitationDeletePayload:
        return await mutate(
            info.context,
            ExternalUserInvitationDeletePayload,
            lambda s: delete_invitation(s, info.context, input.id),
            lambda result: ExternalUserInvitationDeletePayload(deleted_id=strawberry.ID(result), errors=[]),
        )

    @strawberry.mutation(
        description="Remove an external user with all their grants here; their connections here end (ACCESS_REVOKED).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def external_user_remove(self, info: Info, input: ExternalUserRemoveInput) -> ExternalUserRemovePayload:
        return await mutate(
            info.context,
            ExternalUserRemovePayload,
            lambda s: remove_external_user(s, info.context, input.user_id, input.organisation_id),
            lambda result: ExternalUserRemovePayload(
                removed_user_id=strawberry.ID(to_global_id("User", result)), errors=[]
            ),
        )


@strawberry.input(description="Narrow the external user list.")
class ExternalUserFilter:
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only external users of this organisation."
    )


@strawberry.input(description="Narrow the list of invitations your organisations made.")
class ExternalUserInvitationFilter:
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only invitations of this organisation."
    )


def _organisation_filter(statement, column, organisation_id: strawberry.ID | None):
    if organisation_id is None:
        return statement
    pk = decode_id(organisation_id, "Organisation")
    if pk is None:
        raise BadUserInput("Not an organisation ID.", argument="filter.organisationId")
    return statement.where(column == pk)


@strawberry.type
class ExternalUserQuery:
    @strawberry.field(
        description="External users of your organisation's subtree, by e-mail address.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def external_users(
        self,
        info: Info,
        filter: Annotated[
            ExternalUserFilter | None, strawberry.argument(description="Conditions they must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[ExternalUser]:
        statement = (
            select(r.ExternalUser)
            .join(m.User, m.User.id == r.ExternalUser.user_id)
            .where(r.ExternalUser.organisation_id.in_(visible_organisation_ids(info.context.principal)))
        )
        statement = _organisation_filter(
            statement, r.ExternalUser.organisation_id, filter.organisation_id if filter is not None else None
        )
        keys = [SortKey(m.User.email), SortKey(r.ExternalUser.organisation_id)]
        return await paginate(
            info.context,
            statement,
            keys,
            ExternalUser.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, ExternalUser),
        )

    @strawberry.field(
        description="Pending invitations made by the organisations of your subtree, by e-mail address.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def external_user_invitations(
        self,
        info: Info,
        filter: Annotated[
            ExternalUserInvitationFilter | None, strawberry.argument(description="Conditions they must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[ExternalUserInvitation]:
        Invitation = r.ExternalUserInvitation
        statement = select(Invitation).where(
            Invitation.organisation_id.in_(visible_organisation_ids(info.context.principal))
        )
        statement = _organisation_filter(
            statement, Invitation.organisation_id, filter.organisation_id if filter is not None else None
        )
        return await paginate(
            info.context,
            statement,
            [SortKey(Invitation.email), SortKey(Invitation.id)],
            ExternalUserInvitation.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, ExternalUserInvitation),
        )

    @strawberry.field(
        description=(
            "Pending invitations to become an external user of another organisation, addressed to you (with "
            "USERS_MANAGE "
            "also those addressed to users of your organisations), newest first."
        ),
        permission_classes=[needs()],
    )
    async def received_external_user_invitations(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[ExternalUserInvitation]:
        Invitation = r.ExternalUserInvitation
        statement = select(Invitation).where(invited_side(info.context.principal))
        return await paginate(
            info.context,
            statement,
            [SortKey(Invitation.created_at, True), SortKey(Invitation.id, True)],
            ExternalUserInvitation.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, ExternalUserInvitation),
        )


NODE_RESOLVERS = {
    "ExternalUserInvitation": (
        Permission.LOCATIONS_READ,
        node_loader(visible_invitations, ExternalUserInvitation.from_row),
    )
}
