"""Unlinking a federated identity: by its user, or by a user manager who may manage that user. Never the
user's last way in; of parallel unlinks of one identity one wins (the DELETE's row count decides)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.db import lock_row
from graph.errors import DomainError
from graph.relay import decode_id
from graph.tenancy import path_visible
from models import federation as fed
from models import identity as m
from models import saml as saml_models
from resolvers.audit.rules import record
from resolvers.identity.accounts import ensure_manageable, signed_in
from resolvers.identity.errors import IdentityErrorCode as Code

FI = fed.FederatedIdentity


async def _another_way_in(session: AsyncSession, user_id: int, identity_id: int) -> bool:
    """A password, another federated identity or a SAML link: what the user could still sign in with."""
    ways = or_(
        exists().where(m.User.id == user_id, m.User.password_hash.is_not(None)),
        exists().where(FI.user_id == user_id, FI.id != identity_id),
        exists().where(saml_models.SamlLink.user_id == user_id),
    )
    return bool(await session.scalar(select(ways)))


async def unlink(session: AsyncSession, context: Context, global_id: str) -> m.User:
    """Delete the identity; the user it belonged to."""
    principal = signed_in(context)
    not_found = DomainError(Code.NOT_FOUND, "no such federated identity", "id")
    pk = decode_id(global_id, "FederatedIdentity")
    found = None
    if pk is not None:
        found = (
            await session.execute(
                select(FI, m.User, m.Organisation.path)
                .join(m.User, m.User.id == FI.user_id)
                .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
                .where(FI.id == pk)
            )
        ).one_or_none()
    if found is None:
        raise not_found
    identity, user, path = found
    if user.id != principal.user_id:
        # as the user's field shows it: to whoever may read the user; else it reads like an unknown one
        if m.Permission.USERS_READ not in principal.permissions or not path_visible(principal, path):
            raise not_found
        if m.Permission.USERS_MANAGE not in principal.permissions:
            raise DomainError(Code.NOT_ALLOWED, "unlinking another user's identity needs USERS_MANAGE", "id")
        await ensure_manageable(session, principal, user)
    # unlinks of one user's identities take turns, so that two parallel ones cannot remove the last way in
    await lock_row(session, m.User, user.id)
    if not await _another_way_in(session, user.id, identity.id):
        raise DomainError(
            Code.LAST_SIGN_IN_METHOD,
            "this is the user's only way to sign in (no password, no other identity, no SAML link); "
            "set a password first",
            "id",
        )
    deleted = await session.execute(delete(FI).where(FI.id == identity.id).execution_options(synchronize_session=False))
    if cast(CursorResult[Any], deleted).rowcount != 1:
        raise not_found  # a parallel unlink of it won
    await record(
        session,
        context,
        "user.federated_identity_unlinked",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        details={"provider": identity.provider, "identityId": identity.id},
    )
    return user
