"""Demo data: the organisations and users of the manuals (credentials listed in README)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from graph.passwords import hash_password
from graph.secrets import Sealer
from models import identity as m

DEMO_USERS = [
    # (organisation key, name, email, password, roles)
    ("platform", "Platform Admin", "platform@fleetgraph.example", "Schluessel#Kette58", [m.Role.PLATFORM_ADMIN]),
    ("integra", "Demo Integra", "demo@integra-metering.com", "Wasser-Zaehler#47", [m.Role.ORGANISATION_ADMIN]),
    ("integra", "Erika Muster", "erika@integra-metering.com", "Heizung-Ablesen#93", [m.Role.USER]),
    ("service", "Max Service", "max@service.integra-metering.com", "Techniker!Einsatz62", [m.Role.ORGANISATION_ADMIN]),
    ("integra", "Integra API", "api@integra-metering.com", "Maschinen-Zugang#71", [m.Role.API_USER]),
    ("partner", "Paula Partner", "paula@partner-metering.example", "Gast&Schleuse84", [m.Role.ORGANISATION_ADMIN]),
]


async def _organisation(session: AsyncSession, name: str, parent: m.Organisation | None, **fields) -> m.Organisation:
    organisation = m.Organisation(name=name, parent_id=parent.id if parent else None, **fields)
    session.add(organisation)
    await session.flush()
    organisation.path = f"{parent.path if parent else '/'}{organisation.id}/"
    return organisation


async def seed_demo(session_factory: async_sessionmaker[AsyncSession], sealer: Sealer) -> bool:
    """Create the demo data once; False when the database already has organisations.

    The demo devices get random keys sealed with `sealer` (the server's master key), so that the key
    download can be tried out.
    """
    async with session_factory() as session, session.begin():
        if await session.scalar(select(func.count()).select_from(m.Organisation)):
            return False
        organisations = {"platform": await _organisation(session, "fleetgraph Platform", None)}
        organisations["integra"] = await _organisation(
            session, "IntegraDemo", None, can_create_organisations=True, your_reference="KMS-DEMO"
        )
        organisations["service"] = await _organisation(
            session, "IntegraDemo Service", organisations["integra"], your_reference="SRV-01"
        )
        organisations["partner"] = await _organisation(session, "Partner Metering GmbH", None)
        session.add(m.PartnerLink(organisation_id=organisations["integra"].id, partner_id=organisations["partner"].id))
        for key, name, email, password, roles in DEMO_USERS:
            user = m.User(
                organisation_id=organisations[key].id,
                name=name,
                email=email,
                language="de" if key != "platform" else "en",
            )
            user.password_hash = hash_password(password)
            session.add(user)
            await session.flush()
            session.add(m.PasswordHistory(user_id=user.id, password_hash=user.password_hash))
            session.add_all(m.UserRole(user_id=user.id, role=role) for role in roles)
        await _demo_devices(session, organisations, sealer)
        await _demo_remote(session, organisations)
        return True


#: The manuals' device table (serial, product type, claimed?); "Aquastream LoRa" there is the aquastream LoRa type.
DEMO_DEVICES = [
    ("21N001052", "TOPAS Lora W8", True),
    ("21N001064", "TOPAS Lora W8", False),
    ("9999990", "CalecST III LoRa Module", True),
    ("9999991", "CalecST III WM-Bus", False),
    ("9999992", "aquastream LoRa", False),
    ("9999993", "Aquastream WM-Bus", True),
    ("Y20TA010056", "TOPAS Mbus", False),
    ("Y20TA010057", "TOPAS Mbus", False),
]


async def _demo_devices(session: AsyncSession, organisations: dict[str, m.Organisation], sealer: Sealer) -> None:
    """IntegraDemo's devices, handed over by the platform with an accepted batch, each with a random AES-128 key
    of every kind its product type carries."""
    from models import catalogue as c
    from models.base import utcnow
    from resolvers.catalogue.keys import seal_device_key
    from resolvers.catalogue.product_types.rules import MANUFACTURER, ensure_product_types

    await ensure_product_types(session)
    types = dict((await session.execute(select(c.ProductType.name, c.ProductType.id))).all())
    batch = c.Batch(
        reference="KMS-DEMO-0001",
        label="Demo delivery",
        organisation_id=organisations["integra"].id,
        sender_organisation_id=organisations["platform"].id,
        state=c.BatchState.ACCEPTED,
        decided_at=utcnow(),
    )
    session.add(batch)
    await session.flush()
    devices = [
        c.Device(
            manufacturer=MANUFACTURER,
            serial_number=serial,
            product_type_id=types[type_name],
            organisation_id=organisations["integra"].id,
            batch_id=batch.id,
            claim_status=c.ClaimStatus.CLAIMED if claimed else c.ClaimStatus.UNCLAIMED,
            claimed_at=utcnow() if claimed else None,
        )
        for serial, type_name, claimed in DEMO_DEVICES
    ]
    session.add_all(devices)
    await session.flush()
    session.add_all(c.BatchDevice(batch_id=batch.id, device_id=device.id) for device in devices)
    kinds = dict((await session.execute(select(c.ProductType.id, c.ProductType.key_kinds))).all())
    for device in devices:
        for kind in kinds[device.product_type_id]:
            sealed, version = seal_device_key(sealer, device.id, kind, c.KeyAlgorithm.AES_128, secrets.token_bytes(16))
            session.add(
                c.DeviceKey(
                    device_id=device.id,
                    kind=kind,
                    algorithm=c.KeyAlgorithm.AES_128,
                    sealed=sealed,
                    master_key_version=version,
                )
            )
    await session.flush()


async def _demo_remote(session: AsyncSession, organisations: dict[str, m.Organisation]) -> None:
    """IntegraDemo's routers and locations: two placed routers (one reporting, one silent), a free one, a
    device behind a router, a device template, Erika with access to one location directly and to another
    through a location group, Paula (the partner) as an external user of one location, a connection licence
    with one past connection, and a notification profile."""
    from models import remote as r
    from models.base import utcnow

    integra = organisations["integra"].id
    users = dict((await session.execute(select(m.User.email, m.User.id))).all())
    now = utcnow()
    north = r.Router(
        common_name="R_M26118014A81B88FB",
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
    erika, paula = users["erika@integra-metering.com"], users["paula@partner-metering.example"]
    session.add_all(
        [
            r.LocationUserAccess(location_id=pumping.id, user_id=erika),
            r.LocationGroupLocation(group_id=group.id, location_id=works.id),
            r.LocationGroupUser(group_id=group.id, user_id=erika),
            # an accepted invitation: externalUserAdd only invites, Paula (or her admin) accepted it
            r.ExternalUser(organisation_id=integra, user_id=paula),
            r.LocationUserAccess(location_id=works.id, user_id=paula),
        ]
    )
    # Five concurrent connections for IntegraDemo, Erika's finished one in the history, and the control room
    # told by mail when a waterworks router stays offline for a quarter of an hour.
    session.add(r.ConnectionLicence(organisation_id=integra, max_active_connections=5))
    session.add(
        r.RouterConnection(
            organisation_id=integra,
            location_id=pumping.id,
            router_id=north.id,
            router_common_name=north.common_name,
            user_id=erika,
            device_id=hmi.id,
            device_name=hmi.name,
            started_at=now - timedelta(hours=2),
            ended_at=now - timedelta(hours=1, minutes=35),
            end_reason=r.ConnectionEnd.DISCONNECTED,
        )
    )
    profile = r.NotificationProfile(organisation_id=integra, name="Leitwarte", offline_minutes=15, repeat_minutes=240)
    session.add(profile)
    await session.flush()
    session.add_all(
        [
            r.NotificationProfileUser(profile_id=profile.id, user_id=users["demo@integra-metering.com"]),
            r.NotificationProfileEmail(profile_id=profile.id, email="leitwarte@integra-metering.com"),
            r.NotificationProfileLocationGroup(profile_id=profile.id, group_id=group.id),
        ]
    )
    await session.flush()
