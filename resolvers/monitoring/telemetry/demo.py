"""Demo telemetry: what the demo's two monitored locations measure, as smooth functions of time, so that the
seeded day of history and the simulator's live points (workers/telemetry_simulator.py) join up.

- "temperature" (°C) of the device "HMI Pumpe 1" at Pumpstation Nord: between 60 and 90 every 5 minutes, above
  80 for about a minute of each period (the alarm demo's HIGH_TEMPERATURE raises above 80, clears below 75);
- "pressure" (bar, 1.2-3.0) and "flow" (m³/h) of each location itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from graph.relay import to_global_id
from models import remote as r
from models import telemetry as tel
from models.base import utcnow
from models.identity import Organisation
from resolvers.monitoring.telemetry.points import PointIn
from resolvers.monitoring.telemetry.rules import store_points

DEMO_ORGANISATION = "IntegraDemo"
LOCATIONS = ("Pumpstation Nord", "Wasserwerk Süd")
DEVICE = "HMI Pumpe 1"
UNITS = {"temperature": "°C", "pressure": "bar", "flow": "m³/h"}
TEMPERATURE_PERIOD = 300.0


def temperature(moment: datetime) -> float:
    """60-90 °C; (1 + sin)/2 to the 4th power keeps it above 80 for a fifth of the period (one minute)."""
    wave = (1 + math.sin(2 * math.pi * moment.timestamp() / TEMPERATURE_PERIOD)) / 2
    return round(60 + 30 * wave**4, 2)


def pressure(moment: datetime, phase: float) -> float:
    return round(2.1 + 0.9 * math.sin(2 * math.pi * moment.timestamp() / 900 + phase), 3)


def flow(moment: datetime, phase: float) -> float:
    return round(42 + 14 * math.sin(2 * math.pi * moment.timestamp() / 600 + phase), 2)


@dataclass(frozen=True)
class DemoSite:
    location: r.Location
    #: The global ID of HMI Pumpe 1 when it is at this location.
    device: str | None
    phase: float

    def points(self, moment: datetime) -> list[PointIn]:
        points = [
            PointIn("pressure", pressure(moment, self.phase), moment),
            PointIn("flow", flow(moment, self.phase), moment),
        ]
        if self.device is not None:
            points.append(PointIn("temperature", temperature(moment), moment, self.device))
        return points


async def demo_sites(session: AsyncSession) -> list[DemoSite]:
    """The demo's monitored locations, found by name in the demo organisation (none when renamed or deleted)."""
    rows = (
        await session.execute(
            select(r.Location, r.LocationDevice.id)
            .join(Organisation, Organisation.id == r.Location.organisation_id)
            .outerjoin(
                r.LocationDevice, (r.LocationDevice.location_id == r.Location.id) & (r.LocationDevice.name == DEVICE)
            )
            .where(Organisation.name == DEMO_ORGANISATION, r.Location.name.in_(LOCATIONS))
            .order_by(r.Location.name)
        )
    ).all()
    return [
        DemoSite(location, None if device is None else to_global_id("LocationDevice", device), phase=n * 1.7)
        for n, (location, device) in enumerate(rows)
    ]


async def set_units(session: AsyncSession, location_ids: Iterable[int]) -> None:
    for key, unit in UNITS.items():
        await session.execute(
            update(tel.TelemetrySeries)
            .where(tel.TelemetrySeries.location_id.in_(list(location_ids)), tel.TelemetrySeries.key == key)
            .values(unit=unit)
        )


async def seed_demo_telemetry(session: AsyncSession, tenants: DemoTenants) -> None:
    """A day of history at one-minute steps for the demo's monitored locations, through the ingest rule."""
    del tenants  # the locations are found by name, as the simulator finds them
    now = utcnow().replace(second=0, microsecond=0)
    sites = await demo_sites(session)
    for site in sites:
        points = [point for minute in range(24 * 60, 0, -1) for point in site.points(now - timedelta(minutes=minute))]
        await store_points(session, None, site.location, points, late=timedelta(days=2), now=now)
    await set_units(session, [site.location.id for site in sites])
