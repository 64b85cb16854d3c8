"""Remote access's demo data (declared in its Domain.demo) for IntegraDemo: two placed routers (one reporting,
one silent), a free one, a device behind a router, a device template, Erika with access to one location
directly and to another through a location group, Paula (the partner) as an external user of one location,
a connection licence with one past connection, and a notification profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import remote as r
from models.base import utcnow

ERIKA = "erika@integra-metering.com"
PAULA = "paula@partner-metering.example"
DEMO_ADMIN = "demo@integra-metering.com"
#: The demo routers that report (the demo simulator keeps them online); the silent one stays silent.
REPORTING_ROUTERS = ("R_M26118014A81B88FB",)


@dataclass(frozen=True)
class DemoSites:
    north: r.Router
    pumping: r.Location
    works: r.Location
    hmi: r.LocationDevice
    group: r.LocationGroup


async def seed_demo_remote(session: AsyncSession, tenants: DemoTenants) -> None:
    integra = tenants.organisations["integra"].id
    north, south = await _routers(session, integra)
    sites = await _locations(session, integra, north, south)
    _access(session, integra, sites, tenants.users)
    _connections(session, integra, sites, tenants.users[ERIKA])
    await _notification_profile(session, integra, sites.group, tenants.users[DEMO_ADMIN])


async def _routers(session: AsyncSession, integra: int) -> tuple[r.Router, r.Router]:
    """North reports (online, with a status sample), south is silent, the third is not placed anywhere."""
    now = utcnow()
    north = r.Router(
        common_name=REPORTING_ROUTERS[0],
        mac_address="00:1E:42:26:11:80",
        serial_number="1118014A81",
        model="RUT241",
        firmware="RUT2M_R_00.07.06",
        organisation_id=integra,
        online=True,
        last_heartbeat_at=now,
        state_changed_at=now,
    )
    south = r.Router(
        common_name="R_M26118014A81B8900",
        mac_address="00:1E:42:26:11:81",
        serial_number="1118014A82",
        model="RUT241",
        organisation_id=integra,
    )
    spare = r.Router(
        common_name="R_M26118014A81B8911",
        mac_address="00:1E:42:26:11:82",
        serial_number="1118014A83",
        model="RUT956",
        organisation_id=integra,
    )
    session.add_all([north, south, spare])
    await session.flush()
    session.add(
        r.RouterStatusSample(
            router_id=north.id,
            taken_at=now,
            cpu_load=12.5,
            memory_use=41.0,
            modem_state="CONNECTED",
            signal_strength=-71.0,
            link_speed=42.0,
        )
    )
    return north, south


async def _locations(session: AsyncSession, integra: int, north: r.Router, south: r.Router) -> DemoSites:
    """Two locations with their routers, a device behind the north one, a device template, a location group."""
    pumping = r.Location(
        organisation_id=integra, name="Pumpstation Nord", router_id=north.id, latitude=53.5511, longitude=9.9937
    )
    works = r.Location(
        organisation_id=integra, name="Wasserwerk Süd", router_id=south.id, latitude=48.1351, longitude=11.582
    )
    session.add_all([pumping, works])
    await session.flush()
    hmi = r.LocationDevice(
        location_id=pumping.id, name="HMI Pumpe 1", description="Bedienpanel", ip_address="192.168.1.10"
    )
    template = r.DeviceTemplate(
        organisation_id=integra, name="Siemens S7 PLC", description="SPS", ip_address="192.168.1.20"
    )
    session.add_all([hmi, template])
    await session.flush()
    session.add_all(
        [
            r.LocationDeviceService(device_id=hmi.id, service_type=r.ServiceType.HTTP, port=80, path="/"),
            r.DeviceTemplateService(template_id=template.id, service_type=r.ServiceType.TCP, port=102),
        ]
    )
    group = r.LocationGroup(organisation_id=integra, name="Wasserwerke")
    session.add(group)
    await session.flush()
    return DemoSites(north=north, pumping=pumping, works=works, hmi=hmi, group=group)


def _access(session: AsyncSession, integra: int, sites: DemoSites, users: dict[str, int]) -> None:
    erika, paula = users[ERIKA], users[PAULA]
    session.add_all(
        [
            r.LocationUserAccess(location_id=sites.pumping.id, user_id=erika),
            r.LocationGroupLocation(group_id=sites.group.id, location_id=sites.works.id),
            r.LocationGroupUser(group_id=sites.group.id, user_id=erika),
            # an accepted invitation: externalUserAdd only invites, Paula (or her admin) accepted it
            r.ExternalUser(organisation_id=integra, user_id=paula),
            r.LocationUserAccess(location_id=sites.works.id, user_id=paula),
        ]
    )


def _connections(session: AsyncSession, integra: int, sites: DemoSites, erika: int) -> None:
    """Five concurrent connections for IntegraDemo, and Erika's finished one in the history."""
    now = utcnow()
    session.add(r.ConnectionLicence(organisation_id=integra, max_active_connections=5))
    session.add(
        r.RouterConnection(
            organisation_id=integra,
            location_id=sites.pumping.id,
            router_id=sites.north.id,
            router_common_name=sites.north.common_name,
            user_id=erika,
            device_id=sites.hmi.id,
            device_name=sites.hmi.name,
            started_at=now - timedelta(hours=2),
            ended_at=now - timedelta(hours=1, minutes=35),
            end_reason=r.ConnectionEnd.DISCONNECTED,
        )
    )


async def _notification_profile(session: AsyncSession, integra: int, group: r.LocationGroup, admin: int) -> None:
    """The control room, told by mail when a waterworks router stays offline for a quarter of an hour."""
    profile = r.NotificationProfile(organisation_id=integra, name="Leitwarte", offline_minutes=15, repeat_minutes=240)
    session.add(profile)
    await session.flush()
    session.add_all(
        [
            r.NotificationProfileUser(profile_id=profile.id, user_id=admin),
            r.NotificationProfileEmail(profile_id=profile.id, email="leitwarte@integra-metering.com"),
            r.NotificationProfileLocationGroup(profile_id=profile.id, group_id=group.id),
        ]
    )
    await session.flush()
