"""Demo data: the organisations and users of the manuals (credentials listed in README)."""

from __future__ import annotations

import secrets

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
        organisations["service"] = await _organisation(session, "IntegraDemo Service", organisations["integra"], your_reference="SRV-01")
        organisations["partner"] = await _organisation(session, "Partner Metering GmbH", None)
        session.add(m.PartnerLink(organisation_id=organisations["integra"].id, partner_id=organisations["partner"].id))
        for key, name, email, password, roles in DEMO_USERS:
            user = m.User(organisation_id=organisations[key].id, name=name, email=email, language="de" if key != "platform" else "en")
            user.password_hash = hash_password(password)
            session.add(user)
            await session.flush()
            session.add(m.PasswordHistory(user_id=user.id, password_hash=user.password_hash))
            session.add_all(m.UserRole(user_id=user.id, role=role) for role in roles)
        await _demo_devices(session, organisations, sealer)
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
    from resolvers.catalogue.product_types import MANUFACTURER, ensure_product_types

    await ensure_product_types(session)
    types = dict((await session.execute(select(c.ProductType.name, c.ProductType.id))).all())
    batch = c.Batch(reference="KMS-DEMO-0001", label="Demo delivery", organisation_id=organisations["integra"].id,
                    sender_organisation_id=organisations["platform"].id, state=c.BatchState.ACCEPTED, decided_at=utcnow())
    session.add(batch)
    await session.flush()
    devices = [
        c.Device(manufacturer=MANUFACTURER, serial_number=serial, product_type_id=types[type_name],
                 organisation_id=organisations["integra"].id, batch_id=batch.id,
                 claim_status=c.ClaimStatus.CLAIMED if claimed else c.ClaimStatus.UNCLAIMED,
                 claimed_at=utcnow() if claimed else None)
        for serial, type_name, claimed in DEMO_DEVICES
    ]
    session.add_all(devices)
    await session.flush()
    session.add_all(c.BatchDevice(batch_id=batch.id, device_id=device.id) for device in devices)
    kinds = dict((await session.execute(select(c.ProductType.id, c.ProductType.key_kinds))).all())
    for device in devices:
        for kind in kinds[device.product_type_id]:
            sealed, version = seal_device_key(sealer, device.id, kind, c.KeyAlgorithm.AES_128, secrets.token_bytes(16))
            session.add(c.DeviceKey(device_id=device.id, kind=kind, algorithm=c.KeyAlgorithm.AES_128, sealed=sealed,
                                    master_key_version=version))
    await session.flush()
