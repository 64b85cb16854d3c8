"""Customer demo data (Domain.demo): IntegraDemo resells to "Bakkerij Demo", a Dutch bakery with its own portal,
a router it was given (placed at its shop, reporting the LAN of IntegraDemo's default network) and 3 licences."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from graph.passwords import hash_password
from models import identity as m
from models import portal as pt
from models import remote as r
from models.base import utcnow
from resolvers.remote.local_network.rules import copy_defaults

DEMO_CUSTOMER = "Bakkerij Demo"
#: (name, e-mail, password) of the bakery's admin: Dutch, dark mode, menu at the top.
DEMO_BAKER = ("Bram Bakker", "bram@bakkerij-demo.example", "Brood-En-Banket#2026")
DEMO_CUSTOMER_ROUTER = "R_M26118014A81B8A10"
DEMO_CUSTOMER_LICENCES = 3


async def _customer(session: AsyncSession, tenants: DemoTenants) -> m.Organisation:
    parent = tenants.organisations["integra"]
    bakery = m.Organisation(name=DEMO_CUSTOMER, parent_id=parent.id, your_reference="KLANT-001")
    session.add(bakery)
    await session.flush()
    bakery.path = f"{parent.path}{bakery.id}/"
    name, email, password = DEMO_BAKER
    baker = m.User(
        organisation_id=bakery.id,
        name=name,
        email=email,
        language="nl",
        dark_mode=True,
        menu_position=m.MenuPosition.TOP,
    )
    baker.password_hash = hash_password(password)
    session.add(baker)
    await session.flush()
    session.add_all(
        [
            m.PasswordHistory(user_id=baker.id, password_hash=baker.password_hash),
            m.UserRole(user_id=baker.id, role=m.Role.ORGANISATION_ADMIN),
            pt.Customer(organisation_id=bakery.id, reseller_id=parent.id),
            # given from IntegraDemo's pool (its own 5 are all in use in the demo): as customerLicencesGive moves them
            r.ConnectionLicence(organisation_id=bakery.id, max_active_connections=DEMO_CUSTOMER_LICENCES),
        ]
    )
    tenants.users[email] = baker.id
    return bakery


async def seed_demo_customers(session: AsyncSession, tenants: DemoTenants) -> None:
    bakery = await _customer(session, tenants)
    now = utcnow()
    router = r.Router(
        common_name=DEMO_CUSTOMER_ROUTER,
        mac_address="00:1E:42:26:11:A1",
        serial_number="1118014A10",
        model="RUT241",
        firmware="RUT2M_R_00.07.06",
        organisation_id=bakery.id,
        online=True,
        last_heartbeat_at=now,
        state_changed_at=now,
    )
    session.add(router)
    await session.flush()
    session.add(r.RouterStatusSample(router_id=router.id, taken_at=now, cpu_load=4.0, lan_subnet="192.168.1.0/24"))
    shop = r.Location(
        organisation_id=bakery.id, name="Bakkerij Centrum", router_id=router.id, latitude=52.3702, longitude=4.8952
    )
    session.add(shop)
    await session.flush()
    await copy_defaults(session, shop)  # IntegraDemo's defaults: the bakery has none of its own
