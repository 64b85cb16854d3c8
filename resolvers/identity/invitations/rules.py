"""Invitation rules: create, edit, preview, send, revoke and accept an invitation to register.

States: CREATED -> SENT -> ACCEPTED, or REVOKED (by an admin) / EXPIRED (the link's validity ran out).
Expiry is not written by a clock: an open invitation past `expires_at` reads as EXPIRED everywhere,
and an accept attempt with its link stores EXPIRED.

Tokens: the registration link carries a random token; only its SHA-256 is stored. Creating an
invitation makes a token (handed back once, for invitations without an e-mail address that an admin
passes on by hand); every send makes a fresh token and a fresh validity, so the previous link (or the
one shown at creation) stops working. Changing the e-mail address of an invitation also makes a fresh
token and puts it back to CREATED: a link sent to the old address must not register the new person.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.auth import hash_token
from graph.context import Context, Principal
from graph.db import lock_row
from graph.errors import DomainError
from graph.permissions import require_permission
from graph.relay import decode_id
from graph.rules import UNSET, clean_text
from graph.tenancy import path_visible, target_organisation
from models import identity as m
from models.base import utcnow
from models.mail import TemplateType
from resolvers.audit.rules import record
from resolvers.identity.accounts import (
    check_assignable_roles,
    clean_email,
    ensure_email_free,
    ensure_email_free_in_reach,
    replace_roles,
    set_password,
)
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.mail import rendering
from resolvers.mail.sending import enqueue, resolve_template

OPEN = (m.InvitationState.CREATED, m.InvitationState.SENT)
#: Stands in for the token in previews: a preview must never show a working link.
PREVIEW_TOKEN = "preview-only-not-a-valid-token"
MAX_TOKEN_LENGTH = 200
MAX_NAME = 200


def effective_state(invitation: m.Invitation, now: datetime | None = None) -> m.InvitationState:
    """The state as callers see it: an open invitation past its validity is EXPIRED."""
    if invitation.state in OPEN and invitation.expires_at <= (now or utcnow()):
        return m.InvitationState.EXPIRED
    return invitation.state


def _new_token(invitation: m.Invitation, context: Context) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(token)
    invitation.expires_at = utcnow() + timedelta(hours=context.runtime.settings.invitation_ttl_hours)
    return token


def registration_link(context: Context, token: str) -> str:
    return f"{context.runtime.settings.link_base_url}/register?token={token}"


async def _visible_invitation(
    session: AsyncSession, principal: Principal, global_id: str, *, lock: bool = True
) -> tuple[m.Invitation, m.Organisation]:
    """The invitation (for a change: locked first, so that a concurrent accept, send or revoke either
    finished before and is seen here, or waits until this transaction ends)."""
    pk = decode_id(global_id, "Invitation")
    if pk is not None and lock:
        await lock_row(session, m.Invitation, pk)
    row = (
        (
            await session.execute(
                select(m.Invitation, m.Organisation).join(m.Organisation).where(m.Invitation.id == pk)
            )
        ).one_or_none()
        if pk is not None
        else None
    )
    if row is None or not path_visible(principal, row[1].path):
        raise DomainError(Code.NOT_FOUND, "no such invitation", "id")
    return row[0], row[1]


def _require_state(invitation: m.Invitation, allowed: tuple[m.InvitationState, ...], action: str) -> None:
    state = effective_state(invitation)
    if state == m.InvitationState.EXPIRED and m.InvitationState.EXPIRED not in allowed:
        raise DomainError(Code.EXPIRED, f"the invitation has expired; it cannot be {action}", "id")
    if state not in allowed:
        raise DomainError(Code.INVALID_STATE, f"a {state.value.lower()} invitation cannot be {action}", "id")


async def _check_email(
    session: AsyncSession, principal: Principal, email: str | None, field: str = "email"
) -> str | None:
    """An address taken outside the caller's reach passes like a free one (accept() refuses it, to its owner)."""
    if email is None or not email.strip():
        return None
    email = clean_email(email, field)
    await ensure_email_free_in_reach(session, principal, email, field)
    return email


@dataclass
class Created:
    invitation: m.Invitation
    link: str


async def create(
    session: AsyncSession,
    context: Context,
    *,
    name: str,
    email: str | None,
    organisation_id: str | None,
    roles: list[m.Role] | None,
    language: str,
) -> Created:
    principal = require_permission(context, m.Permission.INVITATIONS_MANAGE)
    name = clean_text(name, "name", max_length=MAX_NAME)
    organisation = await target_organisation(session, principal, organisation_id, "organisationId")
    roles = roles if roles is not None else [m.Role.USER]
    check_assignable_roles(principal, roles)
    email = await _check_email(session, principal, email)
    invitation = m.Invitation(
        organisation_id=organisation.id,
        invited_by_id=principal.user_id,
        name=name,
        email=email,
        language=language,
        roles=[r.value for r in dict.fromkeys(roles)],
        state=m.InvitationState.CREATED,
    )
    token = _new_token(invitation, context)
    session.add(invitation)
    await session.flush()
    await record(
        session,
        context,
        "invitation.created",
        organisation_id=organisation.id,
        target_type="Invitation",
        target_id=invitation.id,
        details={"email": email, "roles": invitation.roles},
    )
    return Created(invitation, registration_link(context, token))


async def update(
    session: AsyncSession,
    context: Context,
    invitation_id: str,
    *,
    name: str = UNSET,
    email: str | None = UNSET,
    roles: list[m.Role] = UNSET,
    language: str = UNSET,
) -> m.Invitation:
    """A partial update: UNSET keeps a field; an empty e-mail address removes it."""
    principal = require_permission(context, m.Permission.INVITATIONS_MANAGE)
    invitation, _ = await _visible_invitation(session, principal, invitation_id)
    _require_state(invitation, OPEN, "changed")
    changed = []
    if name is not UNSET:
        invitation.name = clean_text(name, "name", max_length=MAX_NAME)
        changed.append("name")
    if email is not UNSET:
        new_email = await _check_email(session, principal, email)
        if new_email != invitation.email:
            invitation.email = new_email
            # the link went to the old address (or was handed out): it must not register someone else
            _new_token(invitation, context)
            invitation.state, invitation.sent_at = m.InvitationState.CREATED, None
            changed.append("email")
    if roles is not UNSET:
        check_assignable_roles(principal, roles)
        invitation.roles = [r.value for r in dict.fromkeys(roles)]
        changed.append("roles")
    if language is not UNSET:
        invitation.language = language
        changed.append("language")
    await session.flush()
    await record(
        session,
        context,
        "invitation.updated",
        organisation_id=invitation.organisation_id,
        target_type="Invitation",
        target_id=invitation.id,
        details={"changed": changed},
    )
    return invitation


async def _mail_variables(
    session: AsyncSession, invitation: m.Invitation, organisation: m.Organisation, link: str, context: Context
) -> dict:
    inviter = await session.get(m.User, invitation.invited_by_id) if invitation.invited_by_id else None
    return {
        "recipient_name": invitation.name,
        "organisation_name": organisation.name,
        "inviter_name": inviter.name if inviter else organisation.name,
        "link": link,
        "valid_hours": context.runtime.settings.invitation_ttl_hours,
    }


async def preview(session: AsyncSession, context: Context, invitation_id: str) -> rendering.RenderedMail:
    """The invitation mail as it would be sent now, with a placeholder instead of the token."""
    principal = require_permission(context, m.Permission.INVITATIONS_MANAGE)
    invitation, organisation = await _visible_invitation(session, principal, invitation_id, lock=False)
    template = await resolve_template(session, TemplateType.INVITE_USER, invitation.language, organisation.id)
    variables = await _mail_variables(
        session, invitation, organisation, registration_link(context, PREVIEW_TOKEN), context
    )
    return rendering.render(template.subject, template.body_html, template.body_text, variables)


async def send(session: AsyncSession, context: Context, invitation_id: str) -> m.Invitation:
    principal = require_permission(context, m.Permission.INVITATIONS_MANAGE)
    invitation, organisation = await _visible_invitation(session, principal, invitation_id)
    _require_state(invitation, OPEN, "sent")
    if not invitation.email:
        raise DomainError(Code.REQUIRED, "the invitation has no e-mail address; add one first", "email")
    # whoever sends it hands out these roles: the same rule as at creation
    check_assignable_roles(principal, [m.Role(r) for r in invitation.roles])
    resend = invitation.state == m.InvitationState.SENT
    token = _new_token(invitation, context)
    invitation.state = m.InvitationState.SENT
    invitation.sent_at = utcnow()
    await session.flush()
    await enqueue(
        session,
        to_address=invitation.email,
        template_type=TemplateType.INVITE_USER,
        language=invitation.language,
        organisation_id=organisation.id,
        variables=await _mail_variables(session, invitation, organisation, registration_link(context, token), context),
    )
    await record(
        session,
        context,
        "invitation.resent" if resend else "invitation.sent",
        organisation_id=organisation.id,
        target_type="Invitation",
        target_id=invitation.id,
        details={"email": invitation.email},
    )
    return invitation


async def revoke(session: AsyncSession, context: Context, invitation_id: str) -> m.Invitation:
    principal = require_permission(context, m.Permission.INVITATIONS_MANAGE)
    invitation, _ = await _visible_invitation(session, principal, invitation_id)
    _require_state(invitation, OPEN, "revoked")
    invitation.state = m.InvitationState.REVOKED
    await session.flush()
    await record(
        session,
        context,
        "invitation.revoked",
        organisation_id=invitation.organisation_id,
        target_type="Invitation",
        target_id=invitation.id,
    )
    return invitation


async def accept(
    session: AsyncSession, context: Context, token: str, password: str, email: str | None
) -> m.User | DomainError:
    """Register with the link's token. Returns (not raises) the EXPIRED refusal so that the state is stored.

    The link is spent first, by one conditional UPDATE (only while the invitation is open and valid):
    of parallel accepts exactly one wins, the others answer like a used link. A refusal after that
    (address taken, weak password) rolls the spending back with everything else.
    """
    invalid = DomainError(Code.INVALID_TOKEN, "the invitation link is not valid", "token")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise invalid
    token_hash = hash_token(token)
    now = utcnow()
    spent = await session.execute(
        sql_update(m.Invitation)
        .where(m.Invitation.token_hash == token_hash, m.Invitation.state.in_(OPEN), m.Invitation.expires_at > now)
        .values(state=m.InvitationState.ACCEPTED, accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    # Read after the UPDATE: on SQLite it holds the write lock, on PostgreSQL it waited for any concurrent
    # change of the row, so this is the current state either way.
    invitation = await session.scalar(select(m.Invitation).where(m.Invitation.token_hash == token_hash))
    if cast(CursorResult[Any], spent).rowcount != 1:
        # used, revoked, replaced and unknown links answer alike: a guessed token learns nothing
        if invitation is None or effective_state(invitation, now) != m.InvitationState.EXPIRED:
            raise invalid
        return await _expire(session, context, invitation)
    assert invitation is not None  # the UPDATE above just matched this token's row
    address = _address(invitation, email)
    return await _register(session, context, invitation, address, password)


def _address(invitation: m.Invitation, email: str | None) -> str:
    """The new user's address: the invitation's (a given one must match it), else the one given."""
    if invitation.email:
        if email is not None and email.strip() and clean_email(email) != invitation.email:
            raise DomainError(Code.INVALID, "the invitation is for another e-mail address", "email")
        return invitation.email
    if email is None or not email.strip():
        raise DomainError(Code.REQUIRED, "give your e-mail address", "email")
    return clean_email(email)


async def _register(
    session: AsyncSession, context: Context, invitation: m.Invitation, address: str, password: str
) -> m.User:
    """The user an accepted invitation makes, with its roles, in its organisation."""
    await ensure_email_free(session, address)
    organisation = await session.get(m.Organisation, invitation.organisation_id)
    assert organisation is not None  # an organisation is deleted only with its invitations
    user = m.User(organisation_id=organisation.id, email=address, name=invitation.name, language=invitation.language)
    session.add(user)
    await session.flush()
    await set_password(session, user, organisation, password, "password")
    await replace_roles(session, user, [m.Role(r) for r in invitation.roles])
    invitation.accepted_user_id = user.id
    await session.flush()
    await record(
        session,
        context,
        "invitation.accepted",
        organisation_id=organisation.id,
        target_type="Invitation",
        target_id=invitation.id,
        actor_user_id=user.id,
        actor_label=address,
        details={"userId": user.id},
    )
    await record(
        session,
        context,
        "user.created",
        organisation_id=organisation.id,
        target_type="User",
        target_id=user.id,
        actor_user_id=user.id,
        actor_label=address,
        details={"email": address, "roles": invitation.roles, "invitation": invitation.id},
    )
    return user


async def _expire(session: AsyncSession, context: Context, invitation: m.Invitation) -> DomainError:
    """An open invitation past its validity is stored EXPIRED (once, by a conditional UPDATE) and answers EXPIRED."""
    expired = DomainError(Code.EXPIRED, "the invitation link has expired; ask for a new invitation", "token")
    stored = await session.execute(
        sql_update(m.Invitation)
        .where(m.Invitation.id == invitation.id, m.Invitation.state.in_(OPEN))
        .values(state=m.InvitationState.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], stored).rowcount != 1:
        raise expired  # tried before: already stored
    await record(
        session,
        context,
        "invitation.expired",
        organisation_id=invitation.organisation_id,
        target_type="Invitation",
        target_id=invitation.id,
        actor_label="invitation link",
    )
    return expired  # returned, not raised: the EXPIRED state is committed
