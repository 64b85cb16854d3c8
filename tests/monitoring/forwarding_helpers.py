"""Helpers of the forwarding tests: points stored as telemetry ingest stores them (until telemetry lands, the tests
write the rows and call POINTS_STORED themselves), certificates, and the target mutations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select

import graph.composition  # noqa: F401  (registers the domains' hook handlers)
from graph.workers import transaction
from models import telemetry as tel
from resolvers.monitoring.hooks import POINTS_STORED, StoredPoint

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


async def store_points(
    runtime, organisation_id: int, location_id: int, points: Iterable[tuple[str, float, float]], device_id=None
) -> list[StoredPoint]:
    """(key, seconds after T0, value) points of a location, stored and handed to POINTS_STORED in one transaction."""
    stored = []
    async with transaction(runtime) as session:
        series: dict[str, int] = dict(
            (
                await session.execute(
                    select(tel.TelemetrySeries.key, tel.TelemetrySeries.id).where(
                        tel.TelemetrySeries.location_id == location_id, tel.TelemetrySeries.device_id.is_(device_id)
                    )
                )
            ).all()
        )
        for key, seconds, value in points:
            if key not in series:
                row = tel.TelemetrySeries(
                    organisation_id=organisation_id, location_id=location_id, key=key, device_id=device_id
                )
                session.add(row)
                await session.flush()
                series[key] = row.id
            await session.merge(tel.TelemetryPoint(series_id=series[key], at=at(seconds), value=value))
            stored.append(StoredPoint(organisation_id, location_id, device_id, series[key], key, at(seconds), value))
        await session.flush()
        await POINTS_STORED(session, stored)
    return stored


CREATE = """
mutation ($input: ForwardingTargetCreateInput!) {
  forwardingTargetCreate(input: $input) {
    forwardingTarget {
      id name platform enabled smart smartIntervalSeconds secretSet secretFingerprint
      values { key measurement dataType ingestionId }
      influxdb { url organisation bucket }
      blockbax { url projectId inboundConnectorId }
      awsIotCore { endpoint port clientId topic }
      azureIotHub { hubHost deviceId authentication }
      location { name }
    }
    errors { code message field }
  }
}
"""

UPDATE = """
mutation ($input: ForwardingTargetUpdateInput!) {
  forwardingTargetUpdate(input: $input) {
    forwardingTarget { id name enabled smart smartIntervalSeconds secretFingerprint values { key measurement } }
    errors { code message field }
  }
}
"""

DELETE = """
mutation ($id: ID!) { forwardingTargetDelete(input: {id: $id}) { deletedId errors { code field } } }
"""

DELIVERIES = """
query ($id: ID!, $first: Int) {
  forwardingDeliveries(targetId: $id, first: $first) {
    nodes { idempotencyKey state attempts lastError deliveredAt attemptHistory { status error } }
  }
}
"""
