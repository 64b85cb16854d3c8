"""Data monitoring's demo data (declared in its Domain.demo), after remote's, for IntegraDemo.

Datalog: "Pumpstation Nord" and "Wasserwerk Süd" are monitored, with a Modbus datalog device on "HMI Pumpe 1"
(temperature, pressure, flow) whose configuration the router applied. Pumpstation Nord's router reports, so with
telemetry flowing (the telemetry simulator) it is ACTIVE; Wasserwerk Süd's router is silent, so it shows
NO_CONFIGURATION (no datalog device there).

Alarms: the profiles HIGH_TEMPERATURE (temperature > 80 on any device, clears below 75) and LOW_PRESSURE
(pressure < 1.5 for a minute, clears above 1.8) on both locations, a few historic alarms, the open
ROUTER_OFFLINE alarm of the silent router at Wasserwerk Süd, and alarm mails for the demo admin. The
simulator's temperature wave on "HMI Pumpe 1" (60-90, about five minutes) raises and clears HIGH_TEMPERATURE
every few minutes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import alarms as al
from models import datalog as dl
from models import remote as r
from models.base import utcnow
from resolvers.monitoring.alarms.engine import open_key
from resolvers.monitoring.alarms.system import ROUTER_OFFLINE, install_system_profiles

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


DEMO_ADMIN = "demo@integra-metering.com"
#: name, severity, description, duration, (key, condition, value) activation, clearing
PROFILES = (
    (
        "HIGH_TEMPERATURE",
        al.Severity.HIGH,
        "Pump temperature above 80 °C",
        None,
        ("temperature", al.Condition.GT, 80.0),
        ("temperature", al.Condition.LT, 75.0),
    ),
    (
        "LOW_PRESSURE",
        al.Severity.MEDIUM,
        "Pressure below 1.5 bar for a minute",
        60,
        ("pressure", al.Condition.LT, 1.5),
        ("pressure", al.Condition.GT, 1.8),
    ),
)


async def seed_demo_monitoring(session: AsyncSession, tenants: DemoTenants) -> None:
    integra = tenants.organisations["integra"].id
    locations = {
        row.name: row
        for row in (await session.scalars(select(r.Location).where(r.Location.organisation_id == integra))).all()
    }
    hmi = await session.scalar(select(r.LocationDevice).where(r.LocationDevice.name == "HMI Pumpe 1"))
    profiles = {}
    for name, severity, description, duration, activation, clearing in PROFILES:
        profile = al.AlarmProfile(
            organisation_id=integra, name=name, severity=severity, description=description, duration_seconds=duration
        )
        session.add(profile)
        await session.flush()
        for kind, (key, condition, value) in (
            (al.FilterKind.ACTIVATION, activation),
            (al.FilterKind.CLEARING, clearing),
        ):
            session.add(
                al.AlarmProfileFilter(
                    profile_id=profile.id, kind=kind, position=0, key=key, condition=condition, value=value
                )
            )
        session.add_all(
            al.AlarmProfileLocation(profile_id=profile.id, location_id=row.id) for row in locations.values()
        )
        profiles[name] = profile
    admin = tenants.users[DEMO_ADMIN]
    session.add(al.AlarmNotificationSetting(organisation_id=integra, user_id=admin, on_change=False))
    await _history(session, integra, profiles, locations, hmi, admin)


async def _history(session: AsyncSession, integra: int, profiles, locations, hmi, admin: int) -> None:
    """Cleared alarms of the past days, and the silent router's open ROUTER_OFFLINE alarm."""
    now = utcnow()
    north, south = locations.get("Pumpstation Nord"), locations.get("Wasserwerk Süd")
    if north is None or south is None:
        return
    hot, low = profiles["HIGH_TEMPERATURE"], profiles["LOW_PRESSURE"]
    for days, profile, location, device, key, value, handled in (
        (3, hot, north, hmi, "temperature", 84.5, True),
        (2, low, south, None, "pressure", 1.32, False),
        (1, hot, north, hmi, "temperature", 81.2, True),
    ):
        raised = now - timedelta(days=days)
        session.add(
            al.Alarm(
                organisation_id=integra,
                profile_id=profile.id,
                profile_name=profile.name,
                severity=profile.severity,
                location_id=location.id,
                device_id=device.id if device else None,
                raised_at=raised,
                updated_at=raised + timedelta(minutes=7),
                occurrences=2,
                last_key=key,
                last_value=value,
                acknowledged=handled,
                acknowledged_at=raised + timedelta(minutes=3) if handled else None,
                acknowledged_by_id=admin if handled else None,
                acknowledged_by_label=DEMO_ADMIN if handled else None,
                cleared=True,
                cleared_at=raised + timedelta(minutes=7),
            )
        )
    await install_system_profiles(session)
    await session.flush()
    offline = await session.scalar(
        select(al.AlarmProfile).where(al.AlarmProfile.organisation_id.is_(None), al.AlarmProfile.name == ROUTER_OFFLINE)
    )
    if offline is not None:
        session.add(
            al.Alarm(
                organisation_id=integra,
                profile_id=offline.id,
                profile_name=offline.name,
                severity=offline.severity,
                location_id=south.id,
                open_key=open_key(offline.id, south.id, None),
                raised_at=now - timedelta(hours=5),
                updated_at=now - timedelta(hours=5),
            )
        )
