"""The metering points' demo data (Domain.demo): a consumer with two metering points and their bound meters."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from graph.passwords import hash_password
from models import catalogue as c
from models import identity as m
from models import metering as mt
from resolvers.catalogue.product_types.rules import MANUFACTURERS, ensure_product_types
from resolvers.metering.addresses.directory import sample_addresses

DEMO_CONSUMER_ORGANISATION = "IntegraDemo Consumers"
DEMO_CONSUMER = ("Olga Consumer", "olga@consumer.example", "Vodomer-Pokazaniya#26")
#: (serial, product type, passport PIN, the demo consumer's point it is bound to or None: free to bind)
DEMO_METERS = [
    ("33100050", "VSKM-15 IWAN", "482913", (mt.Resource.COLD_WATER, "Flat 16 bathroom")),
    ("33100051", "VSGM-15 IWAN", "735120", (mt.Resource.HOT_WATER, "Flat 16 bathroom")),
    ("33100052", "VSKM-15 IWAN", "901744", None),
]
DEMO_ADDRESS = "msk-0001"
#: The demo meters' owner.
DEMO_METER_OWNER = "Vodokanal Demo"


async def _demo_consumer(session: AsyncSession, tenants: DemoTenants) -> m.User:
    """A consumers' organisation under IntegraDemo, with one consumer (who may also sign in with a password)."""
    parent = tenants.organisations["integra"]
    organisation = m.Organisation(name=DEMO_CONSUMER_ORGANISATION, parent_id=parent.id)
    session.add(organisation)
    await session.flush()
    organisation.path = f"{parent.path}{organisation.id}/"
    name, email, password = DEMO_CONSUMER
    consumer = m.User(organisation_id=organisation.id, name=name, email=email, language="en")
    consumer.password_hash = hash_password(password)
    session.add(consumer)
    await session.flush()
    session.add(m.PasswordHistory(user_id=consumer.id, password_hash=consumer.password_hash))
    session.add(m.UserRole(user_id=consumer.id, role=m.Role.CONSUMER))
    tenants.users[email] = consumer.id
    return consumer


async def seed_demo_metering_points(session: AsyncSession, tenants: DemoTenants) -> None:
    """DECAST NB-IoT water meters with passport PINs, and the demo consumer's two points in a
    Moscow flat with the cold and hot water meters bound; the third meter is free to bind (meterBind)."""
    await ensure_product_types(session)
    types = dict((await session.execute(select(c.ProductType.name, c.ProductType.id))).all())
    consumer = await _demo_consumer(session, tenants)
    # The meters' owner: a utility outside IntegraDemo's tree (its catalogue stays the manuals' table) whose
    # network server sends their readings; a meter's readings are kept under its owner (readings/ingest.py).
    utility = m.Organisation(name=DEMO_METER_OWNER)
    session.add(utility)
    await session.flush()
    utility.path = f"/{utility.id}/"
    address = mt.Address(**sample_addresses()[DEMO_ADDRESS].columns())
    session.add(address)
    await session.flush()
    for serial, type_name, pin, point in DEMO_METERS:
        device = c.Device(
            manufacturer=MANUFACTURERS[type_name],
            serial_number=serial,
            product_type_id=types[type_name],
            organisation_id=utility.id,  # consumers bind them by their passports' PINs
            pin_hash=hash_password(pin),
        )
        session.add(device)
        await session.flush()
        if point is not None:
            resource, room = point
            session.add(
                mt.MeteringPoint(
                    organisation_id=consumer.organisation_id,
                    owner_id=consumer.id,
                    resource=resource,
                    address_id=address.id,
                    room_name=f"{room}, {'cold' if resource == mt.Resource.COLD_WATER else 'hot'} water",
                    meter_id=device.id,
                    account_number="7712345678",
                    time_zone="Europe/Moscow",
                )
            )
    await session.flush()
