"""DataLoader batch functions of telemetry (one SQL statement per batch)."""

from __future__ import annotations

from sqlalchemy import select

from graph.loaders import rows_by_id
from models import remote as r
from models import telemetry as tel
from resolvers.remote.scope import location_managed, location_visible


def series_visible(principal):
    """Series of locations the caller sees."""
    return tel.TelemetrySeries.location_id.in_(select(r.Location.id).where(location_visible(principal)))


visible_series = rows_by_id(tel.TelemetrySeries, series_visible)


def token_managed(principal):
    """Device tokens of the locations the caller manages."""
    return tel.TelemetryToken.location_id.in_(select(r.Location.id).where(location_managed(principal)))


managed_tokens = rows_by_id(tel.TelemetryToken, token_managed)
