"""Who sees which external user invitations, and their batch functions."""

from __future__ import annotations

from sqlalchemy import or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from graph.context import Principal
from graph.loaders import rows_by_id
from graph.tenancy import visible_organisation_ids
from models import identity as m
from models import remote as r
from models.identity import Permission


def invited_side(principal: Principal) -> ColumnElement[bool]:
    """Invitations addressed to the caller, or (USERS_MANAGE) to a user of the caller's subtree."""
    Invitation = r.ExternalUserInvitation
    if principal.is_platform_admin:
        return true()
    mine = Invitation.email == principal.email
    if Permission.USERS_MANAGE not in principal.permissions:
        return mine
    return or_(
        mine,
        Invitation.email.in_(
            select(m.User.email).where(m.User.organisation_id.in_(visible_organisation_ids(principal)))
        ),
    )


def inviting_side(principal: Principal) -> ColumnElement[bool]:
    """Invitations of the organisations whose locations the caller manages."""
    Invitation = r.ExternalUserInvitation
    if principal.is_platform_admin:
        return true()
    if Permission.LOCATIONS_MANAGE not in principal.permissions:
        return Invitation.id.is_(None)
    return Invitation.organisation_id.in_(visible_organisation_ids(principal))


def invitation_visible(principal: Principal) -> ColumnElement[bool]:
    return or_(inviting_side(principal), invited_side(principal))


visible_invitations = rows_by_id(r.ExternalUserInvitation, invitation_visible)


async def organisation_names(context, ids) -> list[str]:
    # names of inviting organisations: shown to the invited side too (the inviter made itself known)
    async with context.session() as session:
        rows = (
            await session.execute(select(m.Organisation.id, m.Organisation.name).where(m.Organisation.id.in_(ids)))
        ).all()
    names = dict(rows)
    return [names.get(pk, "") for pk in ids]
