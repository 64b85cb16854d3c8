"""Federated sign-in rules: start (a pending authorisation), claim it once at the callback, link or refuse
the provider's account; and the one-time sign-in code that an OpenID Connect callback or a SAML assertion
consumer hands out, redeemed by `federatedSignIn` for `login`'s tokens.

Single use: the pending authorisation (its state) and the sign-in code are each spent by one conditional
UPDATE whose row count decides; of parallel callbacks with one state, or redemptions of one code, one wins.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.auth import hash_token
from graph.context import Context
from graph.errors import DomainError
from models import federation as fed
from models import identity as m
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.identity.federation.protocol import Reason, Refused
from resolvers.identity.federation.providers import Asserted, Provider
from resolvers.identity.sessions.rules import IssuedTokens, start_session
from resolvers.identity.sessions.totp import verify_totp

PENDING_TTL = timedelta(minutes=10)
#: Long enough to type the authenticator's code when it is asked for.
SIGN_IN_CODE_TTL = timedelta(minutes=5)
MFA_METHODS = {"mfa", "otp", "hwk"}


async def start(session: AsyncSession, provider: Provider, redirect_uri: str, client_address: str) -> str:
    """Store a pending authorisation; the provider's authorization URL (PKCE S256, state, nonce)."""
    now = utcnow()
    # expired rows go here rather than in a worker: starting a sign-in is what adds them
    await session.execute(delete(fed.PendingAuthorisation).where(fed.PendingAuthorisation.expires_at < now))
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    session.add(
        fed.PendingAuthorisation(
            provider=provider.name,
            state_hash=hash_token(state),
            nonce=nonce,
            code_verifier=verifier,
            client_address=client_address,
            expires_at=now + PENDING_TTL,
        )
    )
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(provider.scopes),
        "state": state,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        **dict(provider.adapter.extra_authorize),
    }
    if provider.adapter.oidc:
        params["nonce"] = nonce
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    return provider.authorization_endpoint + separator + urlencode(params)


async def claim_pending(session: AsyncSession, provider: Provider, state: str) -> fed.PendingAuthorisation:
    """Spend the pending authorisation of `state` (once; unexpired; this provider's)."""
    pending = None
    if 0 < len(state) <= 200:
        pending = await session.scalar(
            select(fed.PendingAuthorisation).where(fed.PendingAuthorisation.state_hash == hash_token(state))
        )
    if pending is None or pending.provider != provider.name:
        raise Refused(Reason.INVALID_STATE)
    now = utcnow()
    spent = await session.execute(
        update(fed.PendingAuthorisation)
        .where(
            fed.PendingAuthorisation.id == pending.id,
            fed.PendingAuthorisation.consumed_at.is_(None),
            fed.PendingAuthorisation.expires_at > now,
        )
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], spent).rowcount != 1:
        raise Refused(Reason.INVALID_STATE, "spent or expired")
    return pending


async def refused(session: AsyncSession, context: Context, provider: str, error: Refused) -> None:
    # (id, organisation id, e-mail): the refused transaction's rows are gone with its rollback
    user: tuple[int, int, str] | None = error.user
    await record(
        session,
        context,
        "user.federated_sign_in_refused",
        organisation_id=user[1] if user else None,
        target_type="User" if user else "",
        target_id=user[0] if user else None,
        actor_label=user[2] if user else f"{provider} account",
        details={"provider": provider, "reason": error.reason.value, "detail": error.detail},
    )


async def _linked_user(session: AsyncSession, context: Context, provider: Provider, who: Asserted) -> m.User:
    """The user of the provider's account; linked on first sign-in by a verified e-mail of an existing user."""
    identity = await session.scalar(
        select(fed.FederatedIdentity).where(
            fed.FederatedIdentity.provider == provider.name, fed.FederatedIdentity.subject == who.subject
        )
    )
    if identity is not None:
        user = await session.get(m.User, identity.user_id)
        assert user is not None  # identities are deleted with their user
        identity.last_sign_in_at = utcnow()
        return user
    user = None
    if who.email:
        user = await session.scalar(select(m.User).where(m.User.email == who.email))
    if user is not None and not who.email_verified:
        raise Refused(Reason.EMAIL_NOT_VERIFIED, user=(user.id, user.organisation_id, user.email))
    if user is None:
        # accounts are made by invitation: an unknown e-mail makes no user
        raise Refused(Reason.EMAIL_NOT_VERIFIED if who.email and not who.email_verified else Reason.NO_ACCOUNT)
    try:
        async with session.begin_nested():
            session.add(
                fed.FederatedIdentity(
                    provider=provider.name,
                    subject=who.subject,
                    user_id=user.id,
                    email=who.email,
                    last_sign_in_at=utcnow(),
                )
            )
    except IntegrityError as exc:  # a parallel first sign-in of the same account linked it
        raise Refused(Reason.INVALID_STATE, "linked in parallel") from exc
    await record(
        session,
        context,
        "user.federated_identity_linked",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_user_id=user.id,
        actor_label=user.email,
        details={"provider": provider.name},
    )
    return user


def mfa_asserted(provider: Provider, who: Asserted) -> bool:
    return bool(MFA_METHODS & set(who.amr)) or (bool(who.acr) and who.acr in provider.trusted_acr)


async def grant(session: AsyncSession, context: Context, provider: Provider, who: Asserted) -> str:
    """The one-time sign-in code for the provider's account; Refused when it may not sign in."""
    user = await _linked_user(session, context, provider, who)
    if not user.is_active:
        raise Refused(Reason.NO_ACCOUNT, "deactivated", user=(user.id, user.organisation_id, user.email))
    trusted = context.runtime.settings.oidc_trust_idp_mfa and mfa_asserted(provider, who)
    return await hand_out_code(session, user, "oidc", provider.name, mfa_trusted=trusted)


# --- the one-time sign-in code of every federated sign-in (OpenID Connect and SAML) --------------------------


async def hand_out_code(session: AsyncSession, user: m.User, method: str, source: str, *, mfa_trusted: bool) -> str:
    """A code for the redirect's fragment, redeemed once by `federatedSignIn` for `login`'s tokens. `source`: the
    provider's name or the IdP's entity ID; `mfa_trusted`: the IdP asserted multi-factor and it is trusted."""
    now = utcnow()
    # expired codes go with the next one: the table stays as small as the sign-ins under way
    await session.execute(delete(fed.SignInCode).where(fed.SignInCode.expires_at < now))
    code = secrets.token_urlsafe(32)
    session.add(
        fed.SignInCode(
            code_hash=hash_token(code),
            user_id=user.id,
            method=method,
            source=source[:500],
            mfa_trusted=mfa_trusted,
            expires_at=now + SIGN_IN_CODE_TTL,
        )
    )
    return code


async def redeem(session: AsyncSession, context: Context, code: str, otp: str | None) -> IssuedTokens | DomainError:
    """Tokens for a sign-in code, once. The organisation's two-factor rules apply as in `login` (a confirmed
    TOTP asks for its code) unless the IdP asserted multi-factor and that is trusted; such a session also owes
    no two-factor enrolment (graph.auth). Asked for the TOTP code, the sign-in code stays valid; a wrong TOTP
    code spends it: one guess per sign-in at the IdP. Returned, not raised: the spending is committed."""
    invalid = DomainError(Code.INVALID_TOKEN, "the sign-in code is not valid; sign in again", "code")
    row = await session.get(fed.SignInCode, hash_token(code)) if 0 < len(code) <= 200 else None
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return invalid
    user = await session.get(m.User, row.user_id)
    assert user is not None  # codes are deleted with their user
    needs_otp = user.totp_confirmed and not row.mfa_trusted
    if needs_otp and not otp:
        return DomainError(Code.TWO_FACTOR_REQUIRED, "enter the code of your authenticator app", "otp")
    spent = await session.execute(
        update(fed.SignInCode)
        .where(
            fed.SignInCode.code_hash == row.code_hash, fed.SignInCode.used_at.is_(None), fed.SignInCode.expires_at > now
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], spent).rowcount != 1 or not user.is_active:
        return invalid
    how = {"by": row.method, "source": row.source, "mfaTrusted": row.mfa_trusted}
    if needs_otp and not await verify_totp(session, context, user, otp or ""):
        await record(
            session, context, "user.login_failed", organisation_id=user.organisation_id, target_type="User",
            target_id=user.id, actor_label=user.email, details=how,
        )  # fmt: skip
        return DomainError(Code.INVALID_TWO_FACTOR_CODE, "the code is not correct; sign in again", "otp")
    return await start_session(session, context, user, how, mfa_by_idp=row.mfa_trusted)
