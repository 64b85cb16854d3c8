"""Bearer tokens: random, stored as SHA-256, looked up on every request so revocation is immediate."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, literal, select, type_coerce, union_all

from graph.context import Principal
from graph.errors import Unauthenticated
from graph.loaders import SharedLoaders
from graph.permissions import effective_permissions, require_permission
from models.base import utcnow
from models.identity import AuthToken, Organisation, Permission, Role, TokenKind, User, UserPermission, UserRole

TOKEN_PREFIX = {TokenKind.ACCESS: "fga_", TokenKind.REFRESH: "fgr_"}


def new_token(kind: TokenKind) -> str:
    return TOKEN_PREFIX[kind] + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _principal(
    user: User, organisation: Organisation, token: AuthToken, roles: frozenset[Role], granted: frozenset[Permission]
) -> Principal:
    two_factor_required = user.require_two_factor or organisation.require_two_factor
    return Principal(
        user_id=user.id,
        email=user.email,
        organisation_id=organisation.id,
        organisation_path=organisation.path,
        roles=roles,
        permissions=effective_permissions(roles, granted),
        session_id=token.session_id,
        authenticated_at=token.authenticated_at,
        needs_two_factor_enrolment=two_factor_required and not user.totp_confirmed,
        token_expires_at=token.expires_at,
    )


Verdict = tuple[Principal | None, str | None]


async def authenticate_tokens(session_factory, tokens: Sequence[str]) -> list[Verdict]:
    """The principal for each access token, or None and the reason it was refused: two statements for any
    number of tokens (the tokens with their users, then their roles and permissions)."""
    hashes = {token: hash_token(token) for token in tokens if len(token) <= 200}
    now = utcnow()
    async with session_factory() as session:
        rows = (
            await session.execute(
                select(AuthToken, User, Organisation)
                .join(User, User.id == AuthToken.user_id)
                .join(Organisation, Organisation.id == User.organisation_id)
                .where(AuthToken.token_hash.in_(set(hashes.values())), AuthToken.kind == TokenKind.ACCESS)
            )
        ).all()
        found = {row[0].token_hash: row for row in rows}
        usable = {row[1].id for row in found.values() if _refusal(row[0], row[1], now) is None}
        roles, granted = await _roles_and_permissions(session, usable) if usable else ({}, {})
    verdicts: list[Verdict] = []
    for token in tokens:
        row = found.get(hashes.get(token, ""))
        refusal = "The access token is invalid." if row is None else _refusal(row[0], row[1], now)
        if row is None or refusal is not None:
            verdicts.append((None, refusal))
            continue
        auth_token, user, organisation = row
        principal = _principal(
            user, organisation, auth_token, frozenset(roles.get(user.id, ())), frozenset(granted.get(user.id, ()))
        )
        verdicts.append((principal, None))
    return verdicts


def _refusal(token: AuthToken, user: User, now: datetime) -> str | None:
    if token.revoked_at is not None:
        return "The access token has been revoked."
    if token.expires_at <= now:
        return "The access token has expired."
    if not user.is_active:
        return "The account is deactivated."
    return None


async def _roles_and_permissions(
    session, user_ids: set[int]
) -> tuple[dict[int, set[Role]], dict[int, set[Permission]]]:
    facts = (
        await session.execute(
            union_all(
                select(UserRole.user_id, literal("role"), type_coerce(UserRole.role, String)).where(
                    UserRole.user_id.in_(user_ids)
                ),
                select(
                    UserPermission.user_id, literal("permission"), type_coerce(UserPermission.permission, String)
                ).where(UserPermission.user_id.in_(user_ids)),
            )
        )
    ).all()
    roles: dict[int, set[Role]] = {}
    granted: dict[int, set[Permission]] = {}
    for user_id, kind, value in facts:
        if kind == "role":
            roles.setdefault(user_id, set()).add(Role(value))
        else:
            granted.setdefault(user_id, set()).add(Permission(value))
    return roles, granted


async def authenticate(session_factory, token: str) -> Verdict:
    """The principal for an access token, or None and the reason it was refused."""
    return (await authenticate_tokens(session_factory, [token]))[0]


async def token_verdicts(context, tokens: Sequence[str]) -> list[Verdict]:
    """Batch function (graph.loaders.SharedLoaders): every subscriber of one event re-checked at once."""
    return await authenticate_tokens(context.session, tokens)


async def reauthenticate(context, shared: SharedLoaders) -> None:
    """Check a long-lived (websocket) context's token again for an event if anything that decides rights was
    committed since the last check (the stream counts RIGHTS events, in cursor order, so no event after such a
    commit goes out on the old rights); raise UNAUTHENTICATED once it is no longer valid. Through the event's
    `shared` loaders, the tokens of all its subscribers are checked in one batch."""
    if context.access_token is None:
        return
    epoch = shared.rights_epoch
    if epoch is not None and context.rights_epoch is not None and epoch <= context.rights_epoch:
        # Checked since the last rights change before this event (a connection's subscriptions may be at
        # different events: never go back to older rights). Expiry has its own timer.
        return
    principal, problem = await shared(token_verdicts).load(context.access_token)
    if principal is None:
        raise Unauthenticated(problem or "The access token is invalid.")
    context.principal = principal
    if epoch is not None:  # a replayed event (None) reads the rights of now, but at no known count
        context.rights_cache.clear()  # what the subscriptions loaded at earlier counts
        context.rights_epoch = epoch


async def recheck_rights(context, permission: Permission, shared: SharedLoaders) -> None:
    """A subscription's check after a commit that changed rights (subscriptions.stream.Owner.recheck)."""
    await reauthenticate(context, shared)
    require_permission(context, permission)
