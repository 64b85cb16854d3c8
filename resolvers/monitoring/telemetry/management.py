"""Rules of telemetry's settings: the device tokens of a location (for POST /telemetry) and an organisation's
retention. Held by MONITORING_MANAGE users; each change is recorded in the audit events."""

from __future__ import annotations

import secrets
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.auth import hash_token
from graph.context import Context
from graph.errors import DomainError
from graph.relay import decode_id
from graph.rules import clean_text
from graph.tenancy import target_organisation
from models import remote as r
from models import telemetry as tel
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.monitoring.errors import MonitoringErrorCode as Code
from resolvers.remote.scope import location_managed, visible_location

#: Device tokens start with this, so that a leaked one is recognisable (e.g. by secret scanners).
TOKEN_PREFIX = "fgt_"
MAX_NAME = 200
#: The longest retention an organisation may set (days); 0 keeps points forever.
MAX_RETENTION_DAYS = 3660


async def create_token(
    session: AsyncSession, context: Context, location_id: str, name: str
) -> tuple[tel.TelemetryToken, str]:
    """A new device token of a location of the caller's subtree: (row, the token itself, shown only now)."""
    location = await visible_location(session, context, location_id, "locationId", managed=True)
    name = clean_text(name, "name", max_length=MAX_NAME, single_line=True)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = tel.TelemetryToken(
        organisation_id=location.organisation_id, location_id=location.id, name=name, token_hash=hash_token(secret)
    )
    session.add(token)
    await session.flush()
    await record(
        session,
        context,
        "telemetry_token.created",
        organisation_id=location.organisation_id,
        target_type="TelemetryToken",
        target_id=token.id,
        details={"locationId": location.id, "name": name},
        location_id=location.id,
    )
    return token, secret


async def managed_token(session: AsyncSession, context: Context, token_id: str, field: str) -> tel.TelemetryToken:
    pk = decode_id(token_id, "TelemetryToken")
    token = None
    if pk is not None:
        token = await session.scalar(
            select(tel.TelemetryToken)
            .join(r.Location, r.Location.id == tel.TelemetryToken.location_id)
            .where(tel.TelemetryToken.id == pk, location_managed(context.principal))
        )
    if token is None:
        raise DomainError(Code.NOT_FOUND, "No such telemetry token.", field)
    return token


async def revoke_token(session: AsyncSession, context: Context, token_id: str) -> tel.TelemetryToken:
    """Revoke a device token for good; revoking a revoked one changes nothing."""
    token = await managed_token(session, context, token_id, "id")
    revoked = await session.execute(
        update(tel.TelemetryToken)
        .where(tel.TelemetryToken.id == token.id, tel.TelemetryToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], revoked).rowcount == 1:
        await record(
            session,
            context,
            "telemetry_token.revoked",
            organisation_id=token.organisation_id,
            target_type="TelemetryToken",
            target_id=token.id,
            details={"locationId": token.location_id, "name": token.name},
            location_id=token.location_id,
        )
        await session.refresh(token)
    return token


async def token_location(session: AsyncSession, secret: str) -> r.Location | None:
    """The location of a valid (not revoked) device token, in one statement."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return await session.scalar(
        select(r.Location)
        .join(tel.TelemetryToken, tel.TelemetryToken.location_id == r.Location.id)
        .where(tel.TelemetryToken.token_hash == hash_token(secret), tel.TelemetryToken.revoked_at.is_(None))
    )


async def set_retention(
    session: AsyncSession, context: Context, organisation_id: str | None, days: int | None
) -> tuple[int, int | None]:
    """Set (or with None: reset to the default) how many days an organisation keeps its points: (org pk, days)."""
    assert context.principal is not None  # a mutation's resolver checked the permission
    organisation = await target_organisation(session, context.principal, organisation_id, "organisationId")
    if days is not None and not 0 <= days <= MAX_RETENTION_DAYS:
        raise DomainError(Code.INVALID, f"Retention is 0 (forever) to {MAX_RETENTION_DAYS} days.", "days")
    row = await session.get(tel.TelemetryRetention, organisation.id)
    if days is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(tel.TelemetryRetention(organisation_id=organisation.id, days=days))
    else:
        row.days = days
    await session.flush()
    # per organisation, about no one location: no location_id
    await record(
        session,
        context,
        "telemetry_retention.set",
        organisation_id=organisation.id,
        target_type="Organisation",
        target_id=organisation.id,
        details={"days": days},
    )
    return organisation.id, days
