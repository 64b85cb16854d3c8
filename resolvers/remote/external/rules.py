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

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.tenancy import path_visible, visible_organisation
from models import identity as m
from models import remote as r
from resolvers.audit.rules import record
from resolvers.identity.accounts import EMAIL
from resolvers.remote.access.rules import end_unreachable_connections
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.external.loaders import invitation_visible, invited_side


async def _target(session: AsyncSession, context: Context, organisation_id: str | None) -> m.Organisation:
    principal: Principal = require_principal(context)
    if organisation_id is None:
        own = await session.get(m.Organisation, principal.organisation_id)
        # the caller's organisation exists: a user (and so a principal) references it
        assert own is not None
        return own
    return await visible_organisation(session, principal, organisation_id, "organisationId")


def _clean_address(email: str | None) -> str:
    address = (email or "").strip().lower()
    if not address:
        raise DomainError(Code.REQUIRED, "An e-mail address is required.", "email")
    if len(address) > 254 or "\x00" in address or not EMAIL.match(address):
        raise DomainError(Code.INVALID, "Not a valid e-mail address.", "email")
    return address


async def _check_company_login(
    session: AsyncSession, address: str, customer_number: str | None, username: str | None
) -> None:
    """Issue 18 (manual §3.2): with the company (customer) number and username, all three must name one user of
    that organisation; one answer for every mismatch, whichever part was wrong."""
    number, name = (customer_number or "").strip(), (username or "").strip().lower()
    if not number and not name:
        return
    if not number:
        raise DomainError(Code.REQUIRED, "Enter the company number with the username.", "customerNumber")
    if not name:
        raise DomainError(Code.REQUIRED, "Enter the username with the company number.", "username")
    match = await session.scalar(
        select(m.User.id)
        .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
        .where(m.Organisation.customer_number == number[:20], m.User.username == name[:64], m.User.email == address)
    )
    if match is None:
        raise DomainError(Code.NOT_FOUND, "No user has this company number, username and e-mail address.")


async def add_external_user(
    session: AsyncSession,
    context: Context,
    email: str,
    organisation_id: str | None,
    customer_number: str | None = None,
    username: str | None = None,
) -> r.ExternalUserInvitation:
    """Invite the holder of an address; the invitation. Every valid address
    outside the organisation's subtree gets the same answer (a pending invitation), whether it exists on the
    platform or not: nothing of another tenant shows. Given a company number and username (issue 18), the three
    must match one user, or one NOT_FOUND answers."""
    principal: Principal = require_principal(context)
    organisation = await _target(session, context, organisation_id)
    address = _clean_address(email)
    await _check_company_login(session, address, customer_number, username)
    holder = (
        await session.execute(
            select(m.User.id, m.Organisation.path)
            .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
            .where(m.User.email == address)
        )
    ).first()
    if holder is not None and path_visible(principal, holder.path) and holder.path.startswith(organisation.path):
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
    row = r.ExternalUserInvitation(organisation_id=organisation.id, email=address, invited_by_id=principal.user_id)
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
            .where(r.ExternalUserInvitation.id == pk, invitation_visible(require_principal(context)))
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
                r.ExternalUserInvitation.id == invitation.id, invited_side(require_principal(context))
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
    # the invitation references its organisation (and is deleted with it)
    assert inviting is not None
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
            **_as_invited(invitation, holder.id if holder else require_principal(context).user_id),
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
    if pk is None or row is None:
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
