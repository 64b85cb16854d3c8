"""Session rules: login, token refresh, logout and reauthentication.

Failed logins must be counted, so login(), refresh() and reauthenticate() return their refusal
(run_in_transaction commits it) instead of raising it.

Reauthentication: sensitive actions (the key download) need `Principal.authenticated_at` within the
last minutes. A login sets it; `sessionReauthenticate` sets it again for every token of the caller's
session (the refresh token too, so that tokens refreshed later keep it). Failed attempts count like
failed logins: the same throttle keys, slow-down and lock, and an audit event.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.auth import hash_token, new_token
from graph.context import Context
from graph.errors import DomainError
from graph.passwords import burn_verification_time, verify_password
from models import identity as m
from models import saml as saml_models
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.identity.accounts import caller, signed_in
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.identity.sessions.login_names import Credentials, account_named
from resolvers.identity.sessions.throttling import count_attempt, give_back, throttle_keys
from resolvers.identity.sessions.totp import verify_totp

API_TOKEN_TTL = 3600  # the remote portal's API tokens live one hour


@dataclass
class IssuedTokens:
    user: m.User
    access_token: str
    access_expires_at: datetime
    refresh_token: str | None


async def issue_tokens(
    session: AsyncSession,
    context: Context,
    user: m.User,
    *,
    session_id: str,
    authenticated_at: datetime,
    mfa_by_idp: bool = False,
) -> IssuedTokens:
    settings = context.runtime.settings
    now = utcnow()
    is_api_user = (
        await session.execute(
            select(func.count()).where(m.UserRole.user_id == user.id, m.UserRole.role == m.Role.API_USER)
        )
    ).scalar_one() > 0
    ttl = min(settings.access_token_ttl, API_TOKEN_TTL) if is_api_user else settings.access_token_ttl
    access = new_token(m.TokenKind.ACCESS)
    expires_at = now + timedelta(seconds=ttl)
    tokens = [(m.TokenKind.ACCESS, access, expires_at)]
    refresh = None
    if not is_api_user:  # API users get access tokens only, and log in again after an hour
        refresh = new_token(m.TokenKind.REFRESH)
        tokens.append((m.TokenKind.REFRESH, refresh, now + timedelta(seconds=settings.refresh_token_ttl)))
    for kind, token, expiry in tokens:
        session.add(
            m.AuthToken(
                user_id=user.id,
                kind=kind,
                token_hash=hash_token(token),
                session_id=session_id,
                authenticated_at=authenticated_at,
                expires_at=expiry,
                client_address=context.client_address,
                mfa_by_idp=mfa_by_idp,
            )
        )
    await session.flush()
    return IssuedTokens(user=user, access_token=access, access_expires_at=expires_at, refresh_token=refresh)


async def start_session(
    session: AsyncSession,
    context: Context,
    user: m.User,
    details: dict | None = None,
    *,
    mfa_by_idp: bool = False,
    actor_label: str | None = None,
) -> IssuedTokens:
    """A new session's tokens for a user who proved who they are (password, IdP), and its `user.login` event:
    every way of signing in ends here."""
    issued = await issue_tokens(
        session, context, user, session_id=str(uuid.uuid4()), authenticated_at=utcnow(), mfa_by_idp=mfa_by_idp
    )
    await record(
        session,
        context,
        "user.login",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_user_id=user.id,
        actor_label=actor_label or user.email,
        details=details,
    )
    return issued


async def sso_refusal(session: AsyncSession, context: Context, user: m.User) -> DomainError | None:
    """The refusal when the user's organisation requires SAML sign-in (issue 19), audited. Asked only after
    the password proved the account: a wrong one gets the usual answer (no hint which addresses use SSO)."""
    mode = await session.scalar(
        select(saml_models.SamlProvider.mode).where(saml_models.SamlProvider.organisation_id == user.organisation_id)
    )
    if mode is not saml_models.SamlMode.REQUIRED:
        return None
    await record(
        session,
        context,
        "user.login_refused_sso_required",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_label=user.email,
    )
    return DomainError(Code.SSO_REQUIRED, "your organisation signs in with single sign-on (SSO): use it")


async def login(session: AsyncSession, context: Context, credentials: Credentials) -> IssuedTokens | DomainError:
    """Log in with e-mail or (issue 18) customer number + username (no customer number on the organisation's
    verified login domain), password and TOTP code. One answer for every wrong part."""
    account = await account_named(context, credentials)
    if isinstance(account, DomainError):
        return account
    password, otp = credentials.password, credentials.otp
    keys = throttle_keys(account.key, context.client_address)
    # Counted before the password is checked (before `session` is used: one connection at a time).
    attempt = await count_attempt(context, keys)
    if isinstance(attempt, DomainError):
        return attempt
    user = None if account.email is None else await session.scalar(select(m.User).where(m.User.email == account.email))
    # Argon2 runs in a thread: the event loop keeps serving (and committing) the other requests meanwhile.
    if user is None:
        await asyncio.to_thread(burn_verification_time, password)
    # The password is checked before is_active so that a deactivated account takes as long as any other.
    valid = (
        user is not None and await asyncio.to_thread(verify_password, user.password_hash, password) and user.is_active
    )
    if valid and user is not None and (refused := await sso_refusal(session, context, user)) is not None:
        await give_back(session, attempt, reset_account=False)  # the password was right: not a failure
        return refused
    if valid and user is not None and user.totp_confirmed:
        if not otp:
            await give_back(session, attempt, reset_account=False)  # not a failure: the password was right
            return DomainError(Code.TWO_FACTOR_REQUIRED, "enter the code of your authenticator app", "otp")
        valid = await verify_totp(session, context, user, otp)
    if not valid:
        # already counted as a failure by count_attempt
        await record(
            session,
            context,
            "user.login_failed",
            organisation_id=user.organisation_id if user else None,
            target_type="User" if user else "",
            target_id=user.id if user else None,
            # Only a known account's address: what was typed may be a password in the wrong field.
            actor_label=user.email if user else "unknown account",
        )
        # One answer for unknown account, wrong password, wrong code and deactivated account.
        return DomainError(Code.INVALID_CREDENTIALS, f"{account.names}, password or code is not correct")
    assert user is not None  # only a known account's password verifies
    await give_back(session, attempt, reset_account=True)
    return await start_session(session, context, user, {"by": "username"} if credentials.username is not None else None)


async def refresh(session: AsyncSession, context: Context, refresh_token: str) -> IssuedTokens | DomainError:
    """Rotate a refresh token: spend it and issue a new pair in the same session.

    Spending is one conditional UPDATE (only while unrevoked and unexpired): of parallel refreshes with
    one token exactly one wins. Every other presentation of a spent token, a parallel loser's included,
    is reuse: it ends the whole session (the winner's new tokens too) and is audited.
    """
    invalid = DomainError(Code.INVALID_TOKEN, "the refresh token is not valid", "refreshToken")
    if len(refresh_token) > 200:
        return invalid
    token = await session.scalar(
        select(m.AuthToken).where(
            m.AuthToken.token_hash == hash_token(refresh_token), m.AuthToken.kind == m.TokenKind.REFRESH
        )
    )
    if token is None:
        return invalid
    user = await session.get(m.User, token.user_id)
    assert user is not None  # a user's tokens are deleted with them (ON DELETE CASCADE)
    now = utcnow()
    if token.revoked_at is None:
        if token.expires_at <= now or not user.is_active:
            return invalid
        spent = await session.execute(
            update(m.AuthToken)
            .where(m.AuthToken.id == token.id, m.AuthToken.revoked_at.is_(None), m.AuthToken.expires_at > now)
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], spent).rowcount == 1:
            return await issue_tokens(
                session,
                context,
                user,
                session_id=token.session_id,
                authenticated_at=token.authenticated_at,
                mfa_by_idp=token.mfa_by_idp,
            )
        # Lost to a parallel refresh with this token (on PostgreSQL the UPDATE waited for it to commit,
        # on SQLite for the write lock): this presentation is a reuse like any later one.
    # A refresh token is used once; seeing it again means it leaked: end the whole session.
    await session.execute(
        update(m.AuthToken)
        .where(m.AuthToken.session_id == token.session_id, m.AuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await record(
        session,
        context,
        "token.refresh_reuse_detected",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_user_id=user.id,
        actor_label=user.email,
    )
    return invalid


async def logout(session: AsyncSession, context: Context, all_sessions: bool) -> None:
    principal = signed_in(context)
    condition = m.AuthToken.user_id == principal.user_id
    if not all_sessions:
        condition = condition & (m.AuthToken.session_id == principal.session_id)
    await session.execute(
        update(m.AuthToken).where(condition, m.AuthToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    await record(
        session,
        context,
        "user.logout",
        organisation_id=principal.organisation_id,
        target_type="User",
        target_id=principal.user_id,
        details={"allSessions": all_sessions},
    )


async def reauthenticate(
    session: AsyncSession, context: Context, password: str | None, otp: str | None
) -> datetime | DomainError:
    """Check the password and/or TOTP code of the caller; on success the session counts as freshly authenticated.

    Give the password, or the code of the authenticator app (only when two-factor is confirmed);
    when both are given, both must be correct. A refusal is returned, not raised: the failure count
    must be committed.
    """
    principal = signed_in(context)
    if not password and not otp:
        return DomainError(Code.REQUIRED, "enter your password or the code of your authenticator app", "password")
    keys = throttle_keys(principal.email, context.client_address)
    # Counted before anything is checked (before `session` is used: one connection at a time).
    attempt = await count_attempt(context, keys)
    if isinstance(attempt, DomainError):
        return attempt
    user = await caller(session, context)
    valid = True
    if password:
        valid = await asyncio.to_thread(verify_password, user.password_hash, password)
    if otp:
        # A code proves nothing for a user without confirmed two-factor: counted as a failure.
        valid = valid and user.totp_confirmed and await verify_totp(session, context, user, otp)
    if not valid:
        # already counted as a failure by count_attempt
        await record(
            session,
            context,
            "user.reauthentication_failed",
            organisation_id=user.organisation_id,
            target_type="User",
            target_id=user.id,
        )
        return DomainError(
            Code.INVALID_CREDENTIALS, "password or code is not correct", "otp" if otp and not password else "password"
        )
    await give_back(session, attempt, reset_account=True)
    now = utcnow()
    await session.execute(
        update(m.AuthToken)
        .where(m.AuthToken.user_id == principal.user_id, m.AuthToken.session_id == principal.session_id)
        .values(authenticated_at=now)
    )
    await record(
        session,
        context,
        "user.reauthenticated",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        details={"method": "password" if password and not otp else "otp" if not password else "password+otp"},
    )
    return now
