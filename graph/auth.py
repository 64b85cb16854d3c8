"""Bearer tokens: random, stored as SHA-256, looked up on every request so revocation is immediate."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import String, literal, select, type_coerce, union_all

from graph.context import Principal
from graph.errors import Unauthenticated
from graph.permissions import effective_permissions
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


async def load_principal(session, user: User, organisation: Organisation, token: AuthToken) -> Principal:
    rows = (
        await session.execute(
            union_all(
                select(literal("role"), type_coerce(UserRole.role, String)).where(UserRole.user_id == user.id),
                select(literal("permission"), type_coerce(UserPermission.permission, String)).where(
                    UserPermission.user_id == user.id
                ),
            )
        )
    ).all()
    roles = frozenset(Role(value) for kind, value in rows if kind == "role")
    granted = frozenset(Permission(value) for kind, value in rows if kind == "permission")
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
    )


async def authenticate(session_factory, token: str) -> tuple[Principal | None, str | None]:
    """The principal for an access token, or None and the reason it was refused."""
    if len(token) > 200:
        return None, "The access token is invalid."
    async with session_factory() as session:
        row = (
            await session.execute(
                select(AuthToken, User, Organisation)
                .join(User, User.id == AuthToken.user_id)
                .join(Organisation, Organisation.id == User.organisation_id)
                .where(AuthToken.token_hash == hash_token(token), AuthToken.kind == TokenKind.ACCESS)
            )
        ).one_or_none()
        if row is None:
            return None, "The access token is invalid."
        auth_token, user, organisation = row
        if auth_token.revoked_at is not None:
            return None, "The access token has been revoked."
        if auth_token.expires_at <= utcnow():
            return None, "The access token has expired."
        if not user.is_active:
            return None, "The account is deactivated."
        return await load_principal(session, user, organisation, auth_token), None


async def reauthenticate(context) -> None:
    """Check a long-lived (websocket) context's token again; raise UNAUTHENTICATED once it is no longer valid."""
    if context.access_token is None:
        return
    principal, problem = await authenticate(context.runtime.session_factory, context.access_token)
    if principal is None:
        raise Unauthenticated(problem or "The access token is invalid.")
    context.principal = principal
