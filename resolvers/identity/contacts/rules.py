"""Contact addresses of the signed-in user: add (a confirmation link is mailed to it), confirm, remove.

Only the token's SHA-256 is stored; confirming spends it with one conditional UPDATE, so of parallel
confirmations with one link exactly one wins. Unknown, used and expired tokens get the same answer.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.auth import hash_token
from graph.context import Context
from graph.db import lock_row
from graph.errors import DomainError
from graph.relay import decode_id
from models import identity as m
from models.base import utcnow
from models.mail import TemplateType
from resolvers.audit.rules import record
from resolvers.identity.accounts import caller, clean_email, organisation_of, signed_in
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.mail.sending import enqueue

#: Enough for a household; a bound on the mails one account can have sent to others' inboxes.
MAX_CONTACTS = 10
MAX_TOKEN_LENGTH = 200
C = m.ContactEmail


async def _mail_confirmation(session: AsyncSession, context: Context, user: m.User, contact: m.ContactEmail) -> None:
    token = secrets.token_urlsafe(32)
    settings = context.runtime.settings
    contact.token_hash = hash_token(token)
    contact.token_expires_at = utcnow() + timedelta(minutes=settings.email_token_ttl_minutes)
    organisation = await organisation_of(session, user)
    hours = settings.email_token_ttl_minutes / 60
    await enqueue(
        session,
        to_address=contact.email,
        template_type=TemplateType.CONFIRM_EMAIL,
        language=user.language,
        organisation_id=user.organisation_id,
        variables={
            "recipient_name": user.name,
            "organisation_name": organisation.name,
            "link": f"{settings.link_base_url}/confirm-contact?token={token}",
            "valid_hours": int(hours) if hours == int(hours) else round(hours, 1),
        },
    )


async def add_contact(session: AsyncSession, context: Context, email: str) -> m.ContactEmail:
    user = await caller(session, context)
    address = clean_email(email)
    # Additions of one user take turns: the limit and the duplicate check hold under concurrency.
    await lock_row(session, m.User, user.id)
    existing = (await session.scalars(select(C).where(C.user_id == user.id))).all()
    if any(contact.email == address for contact in existing):
        raise DomainError(Code.DUPLICATE, "you have this address already", "email")
    if len(existing) >= MAX_CONTACTS:
        raise DomainError(Code.NOT_ALLOWED, f"at most {MAX_CONTACTS} contact addresses", "email")
    contact = C(user_id=user.id, email=address)
    session.add(contact)
    await session.flush()
    await _mail_confirmation(session, context, user, contact)
    await session.flush()
    await record(
        session,
        context,
        "user.contact_email_added",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        details={"email": address},
    )
    return contact


async def own_contact(session: AsyncSession, context: Context, global_id: str, field: str = "id") -> m.ContactEmail:
    """The caller's own contact address, or NOT_FOUND (another user's reads like none)."""
    pk = decode_id(global_id, "ContactEmail")
    contact = None
    if pk is not None:
        contact = await session.scalar(select(C).where(C.id == pk, C.user_id == signed_in(context).user_id))
    if contact is None:
        raise DomainError(Code.NOT_FOUND, "no such contact address", field)
    return contact


async def resend_confirmation(session: AsyncSession, context: Context, global_id: str) -> m.ContactEmail:
    """A new link (the old one stops working); for an address not confirmed yet."""
    contact = await own_contact(session, context, global_id)
    if contact.confirmed_at is not None:
        raise DomainError(Code.INVALID_STATE, "this address is confirmed already", "id")
    user = await caller(session, context)
    await _mail_confirmation(session, context, user, contact)
    await session.flush()
    return contact


async def remove_contact(session: AsyncSession, context: Context, global_id: str) -> m.ContactEmail:
    contact = await own_contact(session, context, global_id)
    await session.delete(contact)
    await record(
        session,
        context,
        "user.contact_email_removed",
        organisation_id=signed_in(context).organisation_id,
        target_type="User",
        target_id=contact.user_id,
        details={"email": contact.email},
    )
    return contact


async def confirm_contact(session: AsyncSession, context: Context, token: str) -> m.ContactEmail:
    """Follow the mailed link (no sign-in needed: the link proves the mailbox, the row says whose it is)."""
    invalid = DomainError(Code.INVALID_TOKEN, "the link is not valid (it may have expired or been used)", "token")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise invalid
    now = utcnow()
    confirmed = await session.execute(
        update(C)
        .where(C.token_hash == hash_token(token), C.confirmed_at.is_(None), C.token_expires_at > now)
        .values(confirmed_at=now, token_hash=None, token_expires_at=None)
        .returning(C.id)
        .execution_options(synchronize_session=False)
    )
    ids = confirmed.scalars().all()
    if len(ids) != 1:
        raise invalid  # unknown, expired, or spent by a parallel request
    contact = await session.get(C, ids[0], populate_existing=True)
    assert contact is not None
    owner = await session.get(m.User, contact.user_id)
    assert owner is not None  # contacts are deleted with their user
    await record(
        session,
        context,
        "user.contact_email_confirmed",
        organisation_id=owner.organisation_id,
        target_type="User",
        target_id=contact.user_id,
        actor_user_id=contact.user_id,
        details={"email": contact.email},
    )
    return contact


async def confirmed_contact_addresses(session: AsyncSession, user_id: int) -> list[str]:
    """Where notifications to the user go: their confirmed contact addresses (for the notification work)."""
    rows = await session.scalars(
        select(C.email).where(C.user_id == user_id, C.confirmed_at.is_not(None)).order_by(C.id)
    )
    return list(rows.all())
