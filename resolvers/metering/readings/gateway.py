"""Meter gateway tokens: one per network server (LoRaWAN, NB-IoT or wM-Bus head-end) of an organisation, which
sends the readings of all the organisation's meters to POST /meters/readings and names each meter by its serial
number. Meters reach the cloud through such a server, not one by one, and the server knows serial numbers, not
our IDs: a per-meter token would have to be configured in the server for every meter. Kept only as SHA-256;
held by METERING_MANAGE users; each change is recorded in the audit events."""

from __future__ import annotations

import secrets
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, false, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.auth import hash_token
from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import clean_text
from graph.tenancy import organisation_visible, target_organisation
from models import metering as mt
from models.base import utcnow
from models.identity import Organisation
from resolvers.audit.rules import record
from resolvers.metering.errors import MeteringErrorCode as Code
from resolvers.metering.readings.ingest import ReadingIn
from resolvers.metering.scope import is_consumer
from resolvers.monitoring.telemetry.formats import BadBody, moment
from resolvers.monitoring.telemetry.points import MAX_POINTS, PointIn

#: Gateway tokens start with this, so that a leaked one is recognisable (e.g. by secret scanners).
TOKEN_PREFIX = "fgm_"
MAX_NAME = 200


def token_visible(principal: Any) -> Any:
    """Tokens of the caller's subtree; none for a consumer (a token writes every meter of its organisation)."""
    if is_consumer(principal):
        return false()
    return mt.MeterGatewayToken.organisation_id.in_(select(Organisation.id).where(organisation_visible(principal)))


async def create_token(
    session: AsyncSession, context: Context, organisation_id: str | None, name: str
) -> tuple[mt.MeterGatewayToken, str]:
    """A new gateway token of an organisation of the caller's subtree: (row, the token itself, shown only now)."""
    principal = require_principal(context)
    if is_consumer(principal):
        raise DomainError(Code.NOT_ALLOWED, "Consumers do not send readings for an organisation.", "organisationId")
    organisation = await target_organisation(session, principal, organisation_id, "organisationId")
    name = clean_text(name, "name", max_length=MAX_NAME, single_line=True)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = mt.MeterGatewayToken(organisation_id=organisation.id, name=name, token_hash=hash_token(secret))
    session.add(token)
    await session.flush()
    await record(
        session,
        context,
        "meter_gateway_token.created",
        organisation_id=organisation.id,
        target_type="MeterGatewayToken",
        target_id=token.id,
        details={"name": name},
    )
    return token, secret


async def revoke_token(session: AsyncSession, context: Context, token_id: str) -> mt.MeterGatewayToken:
    """Revoke a gateway token for good (one conditional UPDATE); revoking a revoked one changes nothing."""
    pk = decode_id(token_id, "MeterGatewayToken")
    token = None
    if pk is not None:
        token = await session.scalar(
            select(mt.MeterGatewayToken).where(mt.MeterGatewayToken.id == pk, token_visible(require_principal(context)))
        )
    if token is None:
        raise DomainError(Code.NOT_FOUND, "No such meter gateway token.", "id")
    revoked = await session.execute(
        update(mt.MeterGatewayToken)
        .where(mt.MeterGatewayToken.id == token.id, mt.MeterGatewayToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], revoked).rowcount == 1:
        await record(
            session,
            context,
            "meter_gateway_token.revoked",
            organisation_id=token.organisation_id,
            target_type="MeterGatewayToken",
            target_id=token.id,
            details={"name": token.name},
        )
        await session.refresh(token)
    return token


async def token_organisation(session: AsyncSession, secret: str) -> int | None:
    """The organisation of a valid (not revoked) gateway token, in one statement."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return await session.scalar(
        select(mt.MeterGatewayToken.organisation_id).where(
            mt.MeterGatewayToken.token_hash == hash_token(secret), mt.MeterGatewayToken.revoked_at.is_(None)
        )
    )


def gateway_readings(body: bytes) -> list[ReadingIn]:
    """`{"readings": [{"serialNumber", "manufacturer"?, "key", "value", "at"?}]}` (at: ISO 8601 with offset, or
    epoch milliseconds; default: now). A body not of this shape is refused whole (BadBody); bad values, times
    and meters are per-reading problems of the rule."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadBody("the body is not JSON") from None
    items = data.get("readings") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise BadBody('expected {"readings": [...]}')
    if len(items) > MAX_POINTS:
        raise BadBody(f"at most {MAX_POINTS} readings per message")
    readings = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadBody(f"readings.{index}: a reading is an object")
        at = moment(item.get("at"), f"readings.{index}.at")
        point = PointIn(item.get("key"), item.get("value"), at)
        readings.append(ReadingIn(item.get("serialNumber"), point, item.get("manufacturer")))
    return readings


def topic_readings(serial_number: str, points: list[PointIn]) -> list[ReadingIn]:
    """An MQTT message's points (telemetry's JSON shapes), all of the topic's meter; a meter has no devices."""
    if any(point.device is not None for point in points):
        raise BadBody("a meter's reading names no deviceId")
    return [ReadingIn(serial_number, point) for point in points]
