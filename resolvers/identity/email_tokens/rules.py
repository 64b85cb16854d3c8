"""Single-use tokens sent by e-mail: confirming a new address, resetting a forgotten password.

Only the token's SHA-256 is stored. Unknown, used and expired tokens all get the same INVALID_TOKEN
answer. A new token of one purpose spends the user's older unused ones, so only the newest link works.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from graph.auth import hash_token
from graph.context import Context
from graph.db import lock_row
from graph.errors import DomainError
from models import identity as m
from models.base import utcnow
from models.mail import TemplateType
from resolvers.audit.rules import record
from resolvers.identity.accounts import EMAIL, ensure_email_free, organisation_of, revoke_sessions, set_password
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.mail.sending import enqueue

MAX_TOKEN_LENGTH = 200
#: At most this many reset mails per account within RESET_WINDOW; further requests are answered alike but send nothing.
RESET_LIMIT = 3
RESET_WINDOW = timedelta(hours=1)


def _valid_hours(minutes: int) -> int | float:
    hours = minutes / 60
    return int(hours) if hours == int(hours) else round(hours, 1)


async def _issue(
    session: AsyncSession, context: Context, user: m.User, purpose: m.OneTimePurpose, new_email: str | None = None
) -> str:
    # Requests for one user take turns (a newer link must void every older one, also under concurrency).
    await lock_row(session, m.User, user.id)
    now = utcnow()
    await session.execute(
        update(m.OneTimeToken)
        .where(m.OneTimeToken.user_id == user.id, m.OneTimeToken.purpose == purpose, m.OneTimeToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        m.OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            new_email=new_email,
            expires_at=now + timedelta(minutes=context.runtime.settings.email_token_ttl_minutes),
        )
    )
    await session.flush()
    return token


async def _spend(session: AsyncSession, token: str, purpose: m.OneTimePurpose) -> tuple[m.OneTimeToken, m.User]:
    """Spend the token by one conditional UPDATE (only while unused and unexpired): of parallel requests
    with one link exactly one wins, the others answer like a used link. A refusal after this (a weak
    password, an address taken meanwhile) rolls the spending back with everything else."""
    invalid = DomainError(Code.INVALID_TOKEN, "the link is not valid (it may have expired or been used)", "token")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise invalid
    now = utcnow()
    row = await session.scalar(
        select(m.OneTimeToken).where(m.OneTimeToken.token_hash == hash_token(token), m.OneTimeToken.purpose == purpose)
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise invalid
    user = await session.get(m.User, row.user_id)
    if user is None or not user.is_active:
        raise invalid
    spent = await session.execute(
        update(m.OneTimeToken)
        .where(m.OneTimeToken.id == row.id, m.OneTimeToken.used_at.is_(None), m.OneTimeToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], spent).rowcount != 1:
        raise invalid  # a parallel request with this link won
    set_committed_value(row, "used_at", now)
    return row, user


def _link(context: Context, path: str, token: str) -> str:
    return f"{context.runtime.settings.link_base_url}/{path}?token={token}"


# --- address change ---------------------------------------------------------------------------------


#: Each purpose's mail template and the front-end page its link opens.
_LINK_MAILS = {
    m.OneTimePurpose.CONFIRM_EMAIL: (TemplateType.CONFIRM_EMAIL, "confirm-email"),
    m.OneTimePurpose.PASSWORD_RESET: (TemplateType.PASSWORD_RESET, "reset"),
}


async def _mail_link(
    session: AsyncSession,
    context: Context,
    user: m.User,
    purpose: m.OneTimePurpose,
    *,
    to_address: str,
    new_email: str | None = None,
) -> None:
    """Issue a single-use token for `purpose` and queue the mail carrying its link, in the user's language."""
    template_type, page = _LINK_MAILS[purpose]
    organisation = await organisation_of(session, user)
    token = await _issue(session, context, user, purpose, new_email=new_email)
    await enqueue(
        session,
        to_address=to_address,
        template_type=template_type,
        language=user.language,
        organisation_id=user.organisation_id,
        variables={
            "recipient_name": user.name,
            "organisation_name": organisation.name,
            "link": _link(context, page, token),
            "valid_hours": _valid_hours(context.runtime.settings.email_token_ttl_minutes),
        },
    )


async def request_email_change(session: AsyncSession, context: Context, user: m.User, new_email: str) -> None:
    """Called by userUpdate: the address changes only once the link mailed to the new address is followed.

    The same holds when an admin changes someone else's address: nobody can give an account an
    address its owner does not control (the login name, and where password resets go).
    """
    await _mail_link(session, context, user, m.OneTimePurpose.CONFIRM_EMAIL, to_address=new_email, new_email=new_email)
    await record(
        session,
        context,
        "user.email_change_requested",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        details={"newEmail": new_email},
    )


async def confirm_email_change(session: AsyncSession, context: Context, token: str) -> m.User:
    row, user = await _spend(session, token, m.OneTimePurpose.CONFIRM_EMAIL)
    assert row.new_email is not None  # request_email_change's tokens always carry the new address
    # someone may have taken the address since the link was sent
    await ensure_email_free(session, row.new_email, except_user_id=user.id)
    old = user.email
    user.email = row.new_email
    await session.flush()
    await record(
        session,
        context,
        "user.email_changed",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_user_id=user.id,
        actor_label=row.new_email,
        details={"oldEmail": old, "newEmail": row.new_email},
    )
    return user


# --- password reset ---------------------------------------------------------------------------------


async def request_password_reset(session: AsyncSession, context: Context, email: str) -> None:
    """Mail a reset link to a known active account; anything else silently does nothing.

    The caller answers the same in every case, so the answer never tells whether an address exists.
    """
    address = email.strip().lower()[:254]
    if "\x00" in address or not EMAIL.match(address):
        return
    user = await session.scalar(select(m.User).where(m.User.email == address))
    if user is None or not user.is_active:
        return
    # Counted and issued under the user's lock: parallel requests cannot all find room under the limit.
    await lock_row(session, m.User, user.id)
    recent = (
        await session.execute(
            select(func.count()).where(
                m.OneTimeToken.user_id == user.id,
                m.OneTimeToken.purpose == m.OneTimePurpose.PASSWORD_RESET,
                m.OneTimeToken.created_at > utcnow() - RESET_WINDOW,
            )
        )
    ).scalar_one()
    if recent >= RESET_LIMIT:
        # no flood of mails to someone else's inbox; the answer stays the same
        await record(
            session,
            context,
            "user.password_reset_throttled",
            organisation_id=user.organisation_id,
            target_type="User",
            target_id=user.id,
            actor_label="password reset request",
        )
        return
    await _mail_link(session, context, user, m.OneTimePurpose.PASSWORD_RESET, to_address=user.email)
    await record(
        session,
        context,
        "user.password_reset_requested",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_label="password reset request",
    )


async def reset_password(session: AsyncSession, context: Context, token: str, new_password: str) -> m.User:
    _, user = await _spend(session, token, m.OneTimePurpose.PASSWORD_RESET)
    organisation = await organisation_of(session, user)
    await set_password(session, user, organisation, new_password, "newPassword")
    await revoke_sessions(session, user.id)
    # whoever reset it owns the mailbox: the failed-login lock of the account is lifted
    await session.execute(delete(m.LoginThrottle).where(m.LoginThrottle.key == f"account:{user.email}"))
    await record(
        session,
        context,
        "user.password_reset",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_user_id=user.id,
        actor_label=user.email,
    )
    return user
