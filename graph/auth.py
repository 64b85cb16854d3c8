"""Bearer tokens: random, stored as SHA-256, looked up on every request so revocation is immediate."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, func, select, type_coerce

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
    # a session begun with an identity provider's trusted multi-factor sign-in has had its second factor there
    two_factor_proven = user.totp_confirmed or token.mfa_by_idp
    return Principal(
        user_id=user.id,
        email=user.email,
        organisation_id=organisation.id,
        organisation_path=organisation.path,
        roles=roles,
        permissions=effective_permissions(roles, granted),
        session_id=token.session_id,
        authenticated_at=token.authenticated_at,
        needs_two_factor_enrolment=two_factor_required and not two_factor_proven,
        token_expires_at=token.expires_at,
    )


Verdict = tuple[Principal | None, str | None]
#: The rows behind an accepted token, for priming a request's loaders (graph.domain.Domain.prime_request).
IdentityRows = tuple[User, Organisation]


def _listed(column: Any, owner: Any) -> Any:
    """The user's values of `column` as one comma-separated text (NULL for none): roles and permissions come
    in the token's own row, without a row per role and permission."""
    return select(func.aggregate_strings(type_coerce(column, String), ",")).where(owner == User.id).scalar_subquery()


#: The access tokens with the given hashes, each with its user, organisation, roles and granted permissions.
#: Built once: every request runs it, and building it (and its cache key) cost more than running it.
_ACCESS_TOKENS = (
    select(
        AuthToken,
        User,
        Organisation,
        _listed(UserRole.role, UserRole.user_id),
        _listed(UserPermission.permission, UserPermission.user_id),
    )
    .join(User, User.id == AuthToken.user_id)
    .join(Organisation, Organisation.id == User.organisation_id)
    .where(AuthToken.token_hash.in_(bindparam("hashes", expanding=True)), AuthToken.kind == TokenKind.ACCESS)
)


async def _authenticate(session_factory, tokens: Sequence[str]) -> list[tuple[Verdict, IdentityRows | None]]:
    """The verdict on each access token, with its user and organisation rows when accepted: one statement for
    any number of tokens (each token's row carries its user's roles and granted permissions)."""
    hashes = {token: hash_token(token) for token in tokens if len(token) <= 200}
    now = utcnow()
    async with session_factory() as session:
        rows = (await session.execute(_ACCESS_TOKENS, {"hashes": sorted(set(hashes.values()))})).all()
    found = {row[0].token_hash: row for row in rows}
    verdicts: list[tuple[Verdict, IdentityRows | None]] = []
    for token in tokens:
        row = found.get(hashes.get(token, ""))
        refusal = "The access token is invalid." if row is None else _refusal(row[0], row[1], now)
        if row is None or refusal is not None:
            verdicts.append(((None, refusal), None))
            continue
        auth_token, user, organisation, roles, granted = row
        principal = _principal(
            user,
            organisation,
            auth_token,
            frozenset(Role(value) for value in (roles or "").split(",") if value),
            frozenset(Permission(value) for value in (granted or "").split(",") if value),
        )
        verdicts.append(((principal, None), (user, organisation)))
    return verdicts


async def authenticate_tokens(session_factory, tokens: Sequence[str]) -> list[Verdict]:
    """The principal for each access token, or None and the reason it was refused: one statement."""
    return [verdict for verdict, _ in await _authenticate(session_factory, tokens)]


def _refusal(token: AuthToken, user: User, now: datetime) -> str | None:
    if token.revoked_at is not None:
        return "The access token has been revoked."
    if token.expires_at <= now:
        return "The access token has expired."
    if not user.is_active:
        return "The account is deactivated."
    return None


async def authenticate(session_factory, token: str) -> Verdict:
    """The principal for an access token, or None and the reason it was refused."""
    return (await authenticate_tokens(session_factory, [token]))[0]


async def authenticate_request(session_factory, token: str) -> tuple[Verdict, IdentityRows | None]:
    """As `authenticate`, with the user's and organisation's rows when the token is accepted."""
    return (await _authenticate(session_factory, [token]))[0]


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
