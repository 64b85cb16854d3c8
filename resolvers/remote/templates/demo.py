"""Device templates' demo data (Domain.demo, after the remote access demo): IntegraDemo's camera template,
linked to the southern waterworks (its edits follow to the camera there)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import remote as r

DEMO_LINKED_TEMPLATE = "Axis Kamera"


async def seed_demo_template_links(session: AsyncSession, tenants: DemoTenants) -> None:
    integra = tenants.organisations["integra"].id
    template = r.DeviceTemplate(
        organisation_id=integra, name=DEMO_LINKED_TEMPLATE, description="Zugangskamera", ip_address="192.168.1.30"
    )
    session.add(template)
    await session.flush()
    works = await session.scalar(
        select(r.Location.id).where(r.Location.organisation_id == integra, r.Location.name == "Wasserwerk Süd")
    )
    camera = r.LocationDevice(
        location_id=works,
        name=DEMO_LINKED_TEMPLATE,
        description=template.description,
        ip_address=template.ip_address,
        template_id=template.id,
        template_linked=True,
    )
    session.add(camera)
    await session.flush()
    session.add_all(
        [
            r.DeviceTemplateService(template_id=template.id, service_type=r.ServiceType.HTTPS, port=443, path="/"),
            r.LocationDeviceService(device_id=camera.id, service_type=r.ServiceType.HTTPS, port=443, path="/"),
        ]
    )
    await session.flush()
