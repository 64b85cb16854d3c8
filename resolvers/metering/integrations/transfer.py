"""One transfer: the run that records it, the payload it sends (built at send time), and its outcome.

The payload (JSON, the same for every HTTP kind; README documents it):

    {"integration": <Integration global ID>, "kind": "WEBHOOK", "period": "2026-12-07",
     "idempotencyKey": "integration:12:2026-12-07",
     "meteringPoint": {"id": …, "resource": "COLD_WATER", "roomName": …, "accountNumber": …, "timeZone": …,
                       "address": <one line or null>},
     "meter": {"serialNumber": …, "manufacturer": …, "model": …} or null,
     "reading": {"key": "volume", "value": 123.456, "unit": "m3", "at": <ISO 8601 UTC>} or null,
     "fields": {<the kind's own fields, e.g. payerId and apartment>}}

A run's outcome is recorded by ONE conditional UPDATE (only while it is PENDING), so a repeated attempt after a
lost acknowledgement records nothing twice, and TRANSFER_FINISHED is called in that transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.relay import to_global_id
from models import catalogue as c
from models import forwarding as fw
from models import metering as mt
from models.base import utcnow
from resolvers.metering.hooks import TRANSFER_FINISHED, TransferFinished
from resolvers.metering.readings.latest import Reading, latest_readings
from resolvers.monitoring.delivery import queue

R, Itg, P = mt.IntegrationRun, mt.Integration, mt.MeteringPoint
#: How long a city portal that does not know the meter waits before the period is tried again.
DEVICE_RETRY = timedelta(days=1)


def delivery_kind(kind: mt.IntegrationKind) -> str:
    """The outbound-delivery kind of an integration kind (resolvers.monitoring.delivery)."""
    return f"metering.{kind.value.lower()}"


def scheduled_key(integration_id: int, period: str) -> str:
    return f"integration:{integration_id}:{period}"


async def enqueue_run(
    session: AsyncSession, integration_id: int, kind: mt.IntegrationKind, period: date, trigger: str, key: str
) -> bool:
    """Queue one period's delivery and its run, in the caller's transaction; False when the key was queued before
    (then nothing is added)."""
    payload = {"integration": integration_id, "period": period.isoformat()}
    if not await queue.enqueue(session, delivery_kind(kind), integration_id, key, payload):
        return False
    delivery_id = await session.scalar(select(fw.OutboundDelivery.id).where(fw.OutboundDelivery.idempotency_key == key))
    session.add(
        R(
            integration_id=integration_id,
            period=period,
            trigger=trigger,
            status=mt.RunStatus.PENDING,
            delivery_id=delivery_id,
        )
    )
    return True


@dataclass(frozen=True)
class Transfer:
    """What one send needs, loaded in one place."""

    run: mt.IntegrationRun
    integration: mt.Integration
    point: mt.MeteringPoint
    address: str | None
    meter: Any
    reading: Reading | None


async def load_transfer(
    session: AsyncSession, *, run_id: int | None = None, delivery_id: int | None = None
) -> Transfer | None:
    """The run (by its ID or its delivery's) with its integration, point, meter and latest reading; None when the
    integration was deleted meanwhile."""
    where = R.id == run_id if run_id is not None else R.delivery_id == delivery_id
    found = (
        await session.execute(
            select(R, Itg, P).join(Itg, Itg.id == R.integration_id).join(P, P.id == Itg.metering_point_id).where(where)
        )
    ).first()
    if found is None:
        return None
    run, integration, point = found
    address = (
        await session.scalar(select(mt.Address.display_name).where(mt.Address.id == point.address_id))
        if point.address_id
        else None
    )
    meter = None
    reading = None
    if point.meter_id is not None:
        D, T = c.Device, c.ProductType
        meter = (
            await session.execute(
                select(D.serial_number, D.manufacturer, T.name.label("model"))
                .join(T, T.id == D.product_type_id)
                .where(D.id == point.meter_id)
            )
        ).first()
        reading = (await latest_readings(session, [point.meter_id])).get(point.meter_id)
    return Transfer(run, integration, point, address, meter, reading)


def payload(transfer: Transfer, idempotency_key: str) -> dict[str, Any]:
    integration, point, reading = transfer.integration, transfer.point, transfer.reading
    fields = {key: value for key, value in (integration.settings or {}).items() if key != "responsiblePerson"}
    return {
        "integration": to_global_id("Integration", integration.id),
        "kind": integration.kind.value,
        "period": transfer.run.period.isoformat(),
        "idempotencyKey": idempotency_key,
        "meteringPoint": {
            "id": to_global_id("MeteringPoint", point.id),
            "resource": point.resource.value,
            "roomName": point.room_name,
            "accountNumber": point.account_number,
            "timeZone": point.time_zone,
            "address": transfer.address,
        },
        "meter": None
        if transfer.meter is None
        else {
            "serialNumber": transfer.meter.serial_number,
            "manufacturer": transfer.meter.manufacturer,
            "model": transfer.meter.model,
        },
        "reading": None
        if reading is None
        else {
            "key": reading.key,
            "value": reading.value,
            "unit": reading.unit,
            "at": reading.at.isoformat().replace("+00:00", "Z"),
        },
        "fields": fields,
    }


def encode(body: dict[str, Any]) -> tuple[bytes, str]:
    """(the body as sent, its SHA-256 in hex)."""
    data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return data, hashlib.sha256(data).hexdigest()


async def record_outcome(
    session: AsyncSession,
    transfer: Transfer,
    status: mt.RunStatus,
    error: str,
    digest: str,
    now: datetime | None = None,
) -> bool:
    """The run's outcome (PENDING: only the last attempt's error), if the run is still PENDING; False otherwise.
    A final outcome calls TRANSFER_FINISHED; "device not found" schedules the daily retry instead."""
    now = now or utcnow()
    run, integration = transfer.run, transfer.integration
    final = status is not mt.RunStatus.PENDING
    result = await session.execute(
        update(R)
        .where(R.id == run.id, R.status == mt.RunStatus.PENDING)
        .values(status=status, error=error[:1000], payload_digest=digest, finished_at=now if final else None)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1 or not final:
        return cast(CursorResult[Any], result).rowcount == 1
    if status is mt.RunStatus.DEVICE_NOT_FOUND:
        await session.execute(
            update(Itg).where(Itg.id == integration.id).values(retry_at=now + DEVICE_RETRY, retry_period=run.period)
        )
        return True
    if (
        status is mt.RunStatus.DELIVERED
        and integration.retry_period is not None
        and integration.retry_period <= run.period
    ):
        # the period waiting for the portal is delivered, or a newer one superseded it
        await session.execute(update(Itg).where(Itg.id == integration.id).values(retry_at=None, retry_period=None))
    await TRANSFER_FINISHED(
        session,
        TransferFinished(
            organisation_id=integration.organisation_id,
            metering_point_id=integration.metering_point_id,
            integration_id=integration.id,
            kind=integration.kind.value,
            period=run.period,
            succeeded=status is mt.RunStatus.DELIVERED,
            error=error,
        ),
    )
    return True
