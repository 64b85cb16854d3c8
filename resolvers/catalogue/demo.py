"""The catalogue's demo data (declared in its Domain.demo): the manuals' devices with their keys."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import catalogue as c
from models.base import utcnow
from resolvers.catalogue.keys import seal_device_key
from resolvers.catalogue.product_types.rules import MANUFACTURER, ensure_product_types

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

#: Labels of some demo devices, so `devices(filter: {labels: […]})` has something to find.
DEMO_LABELS = {
    "21N001052": ["Haus A"],
    "21N001064": ["Haus A"],
    "9999990": ["Heizung"],
    "9999993": ["Haus A", "Heizung"],
}


async def seed_demo_devices(session: AsyncSession, tenants: DemoTenants) -> None:
    """IntegraDemo's devices, handed over by the platform with an accepted batch, some with labels, each with a
    random AES-128 key of every kind its product type carries (sealed with the server's master key, so the key
    download works)."""
    organisations, sealer = tenants.organisations, tenants.sealer
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
    session.add_all(
        c.DeviceLabel(device_id=device.id, label=label)
        for device in devices
        for label in DEMO_LABELS.get(device.serial_number, [])
    )
    kinds: dict[int, list[str]] = dict((await session.execute(select(c.ProductType.id, c.ProductType.key_kinds))).all())
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
