"""Data monitoring's demo data (declared in its Domain.demo), after remote's: "Pumpstation Nord" and "Wasserwerk
Süd" are monitored, with a Modbus datalog device on "HMI Pumpe 1" (temperature, pressure, flow) whose configuration
the router applied. Pumpstation Nord's router reports, so with telemetry flowing (the telemetry simulator) it is
ACTIVE; Wasserwerk Süd's router is silent, so it shows NO_CONFIGURATION (no datalog device there)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import datalog as dl
from models import remote as r
from models.base import utcnow

MONITORED = ("Pumpstation Nord", "Wasserwerk Süd")
HMI = "HMI Pumpe 1"
VARIABLES = [
    ("temperature", "°C", 0),
    ("pressure", "bar", 2),
    ("flow", "m³/h", 4),
]


async def seed_demo_datalog(session: AsyncSession, tenants: DemoTenants) -> None:
    integra = tenants.organisations["integra"].id
    locations = (
        await session.scalars(
            select(r.Location).where(r.Location.organisation_id == integra, r.Location.name.in_(MONITORED))
        )
    ).all()
    now = utcnow()
    hmi = await session.scalar(
        select(r.LocationDevice)
        .join(r.Location, r.Location.id == r.LocationDevice.location_id)
        .where(r.Location.organisation_id == integra, r.LocationDevice.name == HMI)
    )
    for location in locations:
        applied = hmi is not None and hmi.location_id == location.id
        session.add(
            dl.MonitoredLocation(
                location_id=location.id,
                send_frequency_seconds=10,
                cloud_host=dl.CloudHost.HELIX,
                silence_seconds=300,
                config_state=dl.ConfigState.APPLIED if applied else None,
                config_request_id=f"demo-{location.id}" if applied else None,
                config_sent_at=now if applied else None,
                config_reason="",
                config_applied_at=now if applied else None,
            )
        )
    if hmi is not None:
        session.add(
            dl.DatalogDevice(
                organisation_id=integra,
                location_device_id=hmi.id,
                name="Pumpe 1 Modbus",
                protocol=dl.Protocol.MODBUS,
                settings={"port": 502, "host": hmi.ip_address, "unitId": 1, "mode": "TCP", "secretsSet": {}},
                variables=[
                    {
                        "key": key,
                        "unit": unit,
                        "dataType": "FLOAT",
                        "address": {"register": register, "function": "HOLDING_REGISTER", "valueType": "FLOAT32"},
                    }
                    for key, unit, register in VARIABLES
                ],
                updated_at=now,
            )
        )
    await session.flush()
