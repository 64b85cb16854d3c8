"""Recent authentication: prove again who you are (password, or TOTP code) before a sensitive action.

Sensitive actions (the key download) need `Principal.authenticated_at` within the last minutes. A
login sets it; `sessionReauthenticate` sets it again for every token of the caller's session (the
refresh token too, so that tokens refreshed later keep it). Failed attempts count like failed
logins: the same throttle keys, slow-down and lock, and an audit event.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import strawberry
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from graph.context import Context
from graph.errors import DomainError
from graph.mutations import run_in_transaction
from graph.passwords import verify_password
from graph.permissions import needs
from models import identity as m
from models.base import utcnow
from resolvers.audit.services import record
from resolvers.identity.services import _throttle_keys, _verify_totp, count_attempt, give_back
from resolvers.identity.types import IdentityError
from resolvers.identity.types import IdentityErrorCode as Code


async def reauthenticate(
    session: AsyncSession, context: Context, password: str | None, otp: str | None
) -> datetime | DomainError:
    """Check the password and/or TOTP code of the caller; on success the session counts as freshly authenticated.

    Give the password, or the code of the authenticator app (only when two-factor is confirmed);
    when both are given, both must be correct. A refusal is returned, not raised: the failure count
    must be committed.
    """
    principal = context.principal
    if not password and not otp:
        return DomainError(Code.REQUIRED, "enter your password or the code of your authenticator app", "password")
    keys = _throttle_keys(principal.email, context.client_address)
    # Counted before anything is checked (before `session` is used: one connection at a time).
    attempt = await count_attempt(context, keys)
    if isinstance(attempt, DomainError):
        return attempt
    user = await session.get(m.User, principal.user_id)
    valid = True
    if password:
        valid = await asyncio.to_thread(verify_password, user.password_hash, password)
    if otp:
        # A code proves nothing for a user without confirmed two-factor: counted as a failure.
        valid = valid and user.totp_confirmed and await _verify_totp(session, context, user, otp)
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


@strawberry.input(description="Your password, or the 6-digit code of your authenticator app (when two-factor is on).")
class SessionReauthenticateInput:
    password: str | None = strawberry.field(default=None, description="Your password.")
    otp: str | None = strawberry.field(
        default=None, description="The 6-digit code of your authenticator app; only if two-factor is confirmed."
    )


@strawberry.type(description="When this session was authenticated again, or why not.")
class SessionReauthenticatePayload:
    reauthenticated_at: datetime | None = strawberry.field(
        description="The new authentication time of this session (every token of it); null when refused."
    )
    errors: list[IdentityError] = strawberry.field(
        description="REQUIRED (neither given), INVALID_CREDENTIALS (wrong password or code; counted like a failed "
        "login), TOO_MANY_ATTEMPTS or ACCOUNT_LOCKED (throttled like logins)."
    )


@strawberry.type
class ReauthenticationMutation:
    @strawberry.mutation(
        description=(
            "Prove again who you are, for actions that need a recent authentication (the key download): "
            "the password, or the TOTP code when two-factor is on. Applies to this session's tokens only."
        ),
        permission_classes=[needs()],
    )
    async def session_reauthenticate(
        self, info: Info, input: SessionReauthenticateInput
    ) -> SessionReauthenticatePayload:
        result = await run_in_transaction(
            info.context, lambda session: reauthenticate(session, info.context, input.password, input.otp)
        )
        if isinstance(result, DomainError):
            return SessionReauthenticatePayload(
                reauthenticated_at=None,
                errors=[IdentityError(code=result.code, field=result.field, message=result.message)],
            )
        return SessionReauthenticatePayload(reauthenticated_at=result, errors=[])
