"""External users: a user of another organisation let into this one, who reaches only the locations
(and location groups) given to them here.

Being external is a row (external_user), not a role: the user keeps their own organisation, role and
permissions (they need LOCATIONS_READ, as users and external users have, to see the locations). They
see the granted locations, their routers and devices, and nothing else of the organisation: not its
users, groups or the organisation itself (Location.organisation is null for them).

Consent: externalUserAdd only invites an e-mail address (external_user_invitation). The inviting side
learns nothing from it, whether the address belongs to nobody, to a user of another tenant, or to one
already invited elsewhere: every valid address outside its own subtree gets the same pending
invitation. The user (or an admin of their organisation, USERS_MANAGE) sees it in
receivedExternalUserInvitations and accepts (externalUserInvitationAccept) or declines it; only then
is there an external user, and even then the inviting side sees their name and e-mail address only
(ExternalPerson), never their roles, 2FA state or organisation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy import delete, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from strawberry.types import Info

from graph.context import Context, Principal
from graph.errors import BadUserInput, DomainError
from graph.loaders import by_key
from graph.mutations import run_in_transaction
from graph.permissions import needs
from graph.relay import (
    Connection,
    Node,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    paginate,
    to_global_id,
)
from graph.tenancy import path_visible, visible_organisation_ids
from models import identity as m
from models import remote as r
from models.identity import Permission
from resolvers.audit.rules import record
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.accounts import EMAIL
from resolvers.identity.organisations.types import Organisation
from resolvers.remote import access_loaders
from resolvers.remote.access import end_unreachable_connections
from resolvers.remote.errors import RemoteError, as_errors
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.services import visible_organisation


@strawberry.type(
    description=(
        "A user of another organisation as the organisation that let them in sees them: name and e-mail address "
        "only (their roles, 2FA and organisation are not yours to read)."
    )
)
class ExternalPerson:
    id: strawberry.ID = strawberry.field(
        description=(
            "Their user ID, to give them locations (locationAccessSet) or remove them; node(id) does not find it."
        )
    )
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="E-mail address.")

    @classmethod
    def from_model(cls, row: m.User) -> ExternalPerson:
        return cls(id=strawberry.ID(to_global_id("User", row.id)), name=row.name, email=row.email)


@strawberry.type(
    description="A user of another organisation let into this one: they reach only the locations given to them here."
)
class ExternalUser:
    created_at: datetime = strawberry.field(description="When they were added (their invitation was accepted).")
    user_pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: r.ExternalUser) -> ExternalUser:
        return cls(created_at=row.created_at, user_pk=row.user_id, organisation_pk=row.organisation_id)

    @strawberry.field(description="The user: name and e-mail address only.")
    async def user(self, info: Info) -> ExternalPerson:
        return ExternalPerson.from_model(await info.context.loaders(access_loaders.users).load(self.user_pk))

    @strawberry.field(description="The organisation (of your subtree) they were let into.")
    async def organisation(self, info: Info) -> Organisation:
        return Organisation.from_model(
            await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk)
        )


# --- invitations ------------------------------------------------------------------------------------------


def _invited_side(principal: Principal) -> ColumnElement[bool]:
    """Invitations addressed to the caller, or (USERS_MANAGE) to a user of the caller's subtree."""
    I = r.ExternalUserInvitation
    if principal.is_platform_admin:
        return true()
    mine = I.email == principal.email
    if Permission.USERS_MANAGE not in principal.permissions:
        return mine
    return or_(
        mine, I.email.in_(select(m.User.email).where(m.User.organisation_id.in_(visible_organisation_ids(principal))))
    )


def _inviting_side(principal: Principal) -> ColumnElement[bool]:
    """Invitations of the organisations whose locations the caller manages."""
    I = r.ExternalUserInvitation
    if principal.is_platform_admin:
        return true()
    if Permission.LOCATIONS_MANAGE not in principal.permissions:
        return I.id.is_(None)
    return I.organisation_id.in_(visible_organisation_ids(principal))


def invitation_visible(principal: Principal) -> ColumnElement[bool]:
    return or_(_inviting_side(principal), _invited_side(principal))


async def visible_invitations(context, ids) -> list[r.ExternalUserInvitation | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.ExternalUserInvitation).where(
                    r.ExternalUserInvitation.id.in_(ids), invitation_visible(context.principal)
                )
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


@strawberry.type(
    description=(
        "An organisation's offer to let the holder of an e-mail address in as an external user, until they (or an "
        "admin of their organisation) accept or decline it, or the organisation withdraws it."
    )
)
class ExternalUserInvitation(Node):
    email: str = strawberry.field(
        description="The invited address (as typed by the inviting organisation, lower case)."
    )
    organisation_name: str = strawberry.field(description="Name of the inviting organisation.")
    created_at: datetime = strawberry.field(description="When it was made.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: r.ExternalUserInvitation, organisation_name: str) -> ExternalUserInvitation:
        return cls(
            id=strawberry.ID(to_global_id("ExternalUserInvitation", row.id)),
            email=row.email,
            organisation_name=organisation_name,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="The inviting organisation; null unless it is of your subtree (the inviting side).")
    async def organisation(self, info: Info) -> Organisation | None:
        row = await info.context.loaders(identity_loaders.visible_organisations).load(self.organisation_pk)
        return Organisation.from_model(row) if row else None


async def _organisation_names(context, ids) -> list[str]:
    # names of inviting organisations: shown to the invited side too (the inviter made itself known)
    async with context.session() as session:
        rows = (
            await session.execute(select(m.Organisation.id, m.Organisation.name).where(m.Organisation.id.in_(ids)))
        ).all()
    names = dict(rows)
    return [names.get(pk, "") for pk in ids]


async def _invitations_with_names(context, rows) -> list[ExternalUserInvitation]:
    names = await context.loaders(_organisation_names).load_many([row.organisation_id for row in rows])
    return [ExternalUserInvitation.from_row(row, name) for row, name in zip(rows, names, strict=True)]


async def _node_invitations(info, pks):
    rows = await info.context.loaders(visible_invitations).load_many(pks)
    found = [row for row in rows if row is not None]
    built = iter(await _invitations_with_names(info.context, found))
    return [next(built) if row is not None else None for row in rows]


async def _target(session: AsyncSession, context: Context, organisation_id: str | None) -> m.Organisation:
    if organisation_id is None:
        return await session.get(m.Organisation, context.principal.organisation_id)
    return await visible_organisation(session, context, organisation_id, "organisationId")


def _clean_address(email: str | None) -> str:
    address = (email or "").strip().lower()
    if not address:
        raise DomainError(Code.REQUIRED, "An e-mail address is required.", "email")
    if len(address) > 254 or "\x00" in address or not EMAIL.match(address):
        raise DomainError(Code.INVALID, "Not a valid e-mail address.", "email")
    return address


async def add_external_user(
    session: AsyncSession, context: Context, email: str, organisation_id: str | None
) -> r.ExternalUserInvitation:
    """Invite the holder of an address. Every valid address outside the organisation's subtree gets the same
    answer (a pending invitation), whether it exists on the platform or not: nothing of another tenant shows."""
    organisation = await _target(session, context, organisation_id)
    address = _clean_address(email)
    holder = (
        await session.execute(
            select(m.User.id, m.Organisation.path)
            .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
            .where(m.User.email == address)
        )
    ).first()
    if (
        holder is not None
        and path_visible(context.principal, holder.path)
        and holder.path.startswith(organisation.path)
    ):
        # the organisation's own people (which the caller sees anyway) are given locations directly
        raise DomainError(Code.INVALID, "This user belongs to the organisation; give them locations directly.", "email")
    if holder is not None and await session.get(r.ExternalUser, (organisation.id, holder.id)) is not None:
        # they accepted already: externalUsers shows them to the caller, so this tells nothing new
        raise DomainError(Code.DUPLICATE, "This user is already an external user of the organisation.", "email")
    duplicate = DomainError(Code.DUPLICATE, "This address is already invited to the organisation.", "email")
    invited = await session.scalar(
        select(r.ExternalUserInvitation.id).where(
            r.ExternalUserInvitation.organisation_id == organisation.id, r.ExternalUserInvitation.email == address
        )
    )
    if invited is not None:
        raise duplicate
    row = r.ExternalUserInvitation(
        organisation_id=organisation.id, email=address, invited_by_id=context.principal.user_id
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as error:  # the same address invited at the same moment
        raise duplicate from error
    await record(
        session,
        context,
        "external_user.invited",
        organisation_id=organisation.id,
        target_type="ExternalUserInvitation",
        target_id=row.id,
        details={"email": address},
    )
    return row


async def _invitation(session: AsyncSession, context: Context, invitation_id: str) -> r.ExternalUserInvitation:
    pk = decode_id(invitation_id, "ExternalUserInvitation")
    row = (
        await session.scalar(
            select(r.ExternalUserInvitation)
            .where(r.ExternalUserInvitation.id == pk, invitation_visible(context.principal))
            .with_for_update()
        )
        if pk is not None
        else None
    )
    if row is None:
        raise DomainError(Code.NOT_FOUND, "No such invitation.", "id")
    return row


async def _on_invited_side(session: AsyncSession, context: Context, invitation: r.ExternalUserInvitation) -> bool:
    return (
        await session.scalar(
            select(r.ExternalUserInvitation.id).where(
                r.ExternalUserInvitation.id == invitation.id, _invited_side(context.principal)
            )
        )
    ) is not None


async def accept_invitation(session: AsyncSession, context: Context, invitation_id: str) -> r.ExternalUser:
    """The invited user (or an admin of their organisation) accepts: they become an external user."""
    invitation = await _invitation(session, context, invitation_id)
    if not await _on_invited_side(session, context, invitation):
        raise DomainError(
            Code.NOT_ALLOWED, "Only the invited user or an admin of their organisation accepts an invitation.", "id"
        )
    found = (
        await session.execute(
            select(m.User, m.Organisation.path)
            .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
            .where(m.User.email == invitation.email)
        )
    ).first()
    if found is None:  # only a platform admin sees invitations of addresses nobody holds
        raise DomainError(Code.NOT_FOUND, "Nobody has this e-mail address yet.", "id")
    user, user_path = found
    inviting = await session.get(m.Organisation, invitation.organisation_id)
    if user_path.startswith(inviting.path):
        raise DomainError(Code.INVALID, "The user belongs to the inviting organisation now.", "id")
    row = await session.get(r.ExternalUser, (inviting.id, user.id))
    if row is None:
        row = r.ExternalUser(organisation_id=inviting.id, user_id=user.id)
        session.add(row)
    await session.delete(invitation)
    await session.flush()
    details = {"email": user.email, "invitation": invitation.id}
    # the inviting side's history names the invited address as the actor, never who of the other organisation
    # acted or from where
    await record(
        session,
        context,
        "external_user.added",
        organisation_id=inviting.id,
        target_type="User",
        target_id=user.id,
        details=details,
        **_as_invited(invitation, user.id),
    )
    await record(
        session,
        context,
        "external_user.invitation_accepted",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        details={**details, "organisationName": inviting.name},
    )
    return row


def _as_invited(invitation: r.ExternalUserInvitation, user_id: int) -> dict:
    """Actor of an event the invited side causes in the inviting organisation's history: the invited user,
    whoever of their organisation acted (the stored user ID is not shown)."""
    return {"actor_user_id": user_id, "actor_label": invitation.email, "client_address": ""}


async def delete_invitation(session: AsyncSession, context: Context, invitation_id: str) -> str:
    """Withdrawn by the inviting side, or declined by the invited user or an admin of their organisation."""
    invitation = await _invitation(session, context, invitation_id)
    declined = await _on_invited_side(session, context, invitation)
    await session.delete(invitation)
    await session.flush()
    details = {"email": invitation.email}
    if declined:
        holder = (
            await session.execute(select(m.User.id, m.User.organisation_id).where(m.User.email == invitation.email))
        ).first()
        await record(
            session,
            context,
            "external_user.invitation_declined",
            organisation_id=invitation.organisation_id,
            target_type="ExternalUserInvitation",
            target_id=invitation.id,
            details=details,
            **_as_invited(invitation, holder.id if holder else context.principal.user_id),
        )
        if holder is not None:
            inviting = await session.get(m.Organisation, invitation.organisation_id)
            await record(
                session,
                context,
                "external_user.invitation_declined",
                organisation_id=holder.organisation_id,
                target_type="ExternalUserInvitation",
                target_id=invitation.id,
                details={**details, "organisationName": inviting.name if inviting else ""},
            )
    else:
        await record(
            session,
            context,
            "external_user.invitation_withdrawn",
            organisation_id=invitation.organisation_id,
            target_type="ExternalUserInvitation",
            target_id=invitation.id,
            details=details,
        )
    return invitation_id


async def remove_external_user(
    session: AsyncSession, context: Context, user_id: str, organisation_id: str | None
) -> int:
    """Remove the external user and all their grants on the organisation's locations (direct and
    through its location groups); their connections there end."""
    organisation = await _target(session, context, organisation_id)
    pk = decode_id(user_id, "User")
    row = await session.get(r.ExternalUser, (organisation.id, pk)) if pk is not None else None
    if row is None:
        raise DomainError(Code.NOT_FOUND, "No such external user.", "userId")
    await session.delete(row)
    await session.execute(
        delete(r.LocationUserAccess).where(
            r.LocationUserAccess.user_id == pk,
            r.LocationUserAccess.location_id.in_(
                select(r.Location.id).where(r.Location.organisation_id == organisation.id)
            ),
        )
    )
    await session.execute(
        delete(r.LocationGroupUser).where(
            r.LocationGroupUser.user_id == pk,
            r.LocationGroupUser.group_id.in_(
                select(r.LocationGroup.id).where(r.LocationGroup.organisation_id == organisation.id)
            ),
        )
    )
    await session.flush()
    await record(
        session, context, "external_user.removed", organisation_id=organisation.id, target_type="User", target_id=pk
    )
    await end_unreachable_connections(session, [pk])
    return pk


@strawberry.input(description="Invite a user of another organisation in, by e-mail address.")
class ExternalUserAddInput:
    email: str = strawberry.field(description="E-mail address of the user to invite.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The organisation (of your subtree); default yours."
    )


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
            "The pending invitation (the user is external once they or their organisation's admin accept it); null when refused."
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
            "Invite the holder of an e-mail address in as an external user. The answer is the same for every valid address "
            "outside the organisation (whether anybody has it or not); they are external once they accept."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def external_user_add(self, info: Info, input: ExternalUserAddInput) -> ExternalUserAddPayload:
        result = await run_in_transaction(
            info.context, lambda s: add_external_user(s, info.context, input.email, input.organisation_id)
        )
        if isinstance(result, DomainError):
            return ExternalUserAddPayload(invitation=None, errors=as_errors(result))
        return ExternalUserAddPayload(invitation=(await _invitations_with_names(info.context, [result]))[0], errors=[])

    @strawberry.mutation(
        description="Accept an invitation addressed to you (or, with USERS_MANAGE, to a user of your organisations).",
        permission_classes=[needs()],
    )
    async def external_user_invitation_accept(
        self, info: Info, input: ExternalUserInvitationIdInput
    ) -> ExternalUserInvitationAcceptPayload:
        result = await run_in_transaction(info.context, lambda s: accept_invitation(s, info.context, input.id))
        if isinstance(result, DomainError):
            return ExternalUserInvitationAcceptPayload(external_user=None, errors=as_errors(result))
        return ExternalUserInvitationAcceptPayload(external_user=ExternalUser.from_model(result), errors=[])

    @strawberry.mutation(
        description="Decline an invitation addressed to you (or to a user of your organisations), or withdraw one you made.",
        permission_classes=[needs()],
    )
    async def external_user_invitation_delete(
        self, info: Info, input: ExternalUserInvitationIdInput
    ) -> ExternalUserInvitationDeletePayload:
        result = await run_in_transaction(info.context, lambda s: delete_invitation(s, info.context, input.id))
        if isinstance(result, DomainError):
            return ExternalUserInvitationDeletePayload(deleted_id=None, errors=as_errors(result))
        return ExternalUserInvitationDeletePayload(deleted_id=strawberry.ID(result), errors=[])

    @strawberry.mutation(
        description="Remove an external user with all their grants here; their connections here end (ACCESS_REVOKED).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def external_user_remove(self, info: Info, input: ExternalUserRemoveInput) -> ExternalUserRemovePayload:
        result = await run_in_transaction(
            info.context, lambda s: remove_external_user(s, info.context, input.user_id, input.organisation_id)
        )
        if isinstance(result, DomainError):
            return ExternalUserRemovePayload(removed_user_id=None, errors=as_errors(result))
        return ExternalUserRemovePayload(removed_user_id=strawberry.ID(to_global_id("User", result)), errors=[])


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
        statement = _organisation_filter(statement, r.ExternalUser.organisation_id, filter and filter.organisation_id)
        keys = [SortKey(m.User.email), SortKey(r.ExternalUser.organisation_id)]
        return await paginate(
            info.context, statement, keys, ExternalUser.from_model, first=first, after=after, last=last, before=before
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
        I = r.ExternalUserInvitation
        statement = select(I).where(I.organisation_id.in_(visible_organisation_ids(info.context.principal)))
        statement = _organisation_filter(statement, I.organisation_id, filter and filter.organisation_id)
        connection = await paginate(
            info.context,
            statement,
            [SortKey(I.email), SortKey(I.id)],
            lambda row: row,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        return await _with_names(info, connection)

    @strawberry.field(
        description=(
            "Pending invitations to become an external user of another organisation, addressed to you (with USERS_MANAGE "
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
        I = r.ExternalUserInvitation
        statement = select(I).where(_invited_side(info.context.principal))
        connection = await paginate(
            info.context,
            statement,
            [SortKey(I.created_at, True), SortKey(I.id, True)],
            lambda row: row,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        return await _with_names(info, connection)


async def _with_names(info: Info, connection: Connection) -> Connection[ExternalUserInvitation]:
    """Rows of a page built into invitations with their inviting organisation's name (one statement per page)."""
    built = await _invitations_with_names(info.context, [edge.node for edge in connection.edges])
    for edge, node in zip(connection.edges, built, strict=True):
        edge.node = node
    connection.nodes = built
    return connection


NODE_RESOLVERS = {"ExternalUserInvitation": (Permission.LOCATIONS_READ, _node_invitations)}
