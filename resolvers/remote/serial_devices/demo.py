"""Serial devices' demo data (Domain.demo, after the remote access demo): IntegraDemo's serial device template
for its heat meters, and at each demo location a serial device (one made from the template, one of its own)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import remote as r

DEMO_SERIAL_TEMPLATE = "Wärmezähler M-Bus/Modbus"
_HEAT_METER = {
    "protocol": r.SerialProtocol.MODBUS_RTU,
    "baud_rate": 9600,
    "data_bits": 8,
    "stop_bits": r.SerialStopBits.ONE,
    "parity": r.SerialParity.EVEN,
    "serial_mode": r.SerialMode.RS485,
}


async def seed_demo_serial_devices(session: AsyncSession, tenants: DemoTenants) -> None:
    integra = tenants.organisations["integra"].id
    template = r.SerialDeviceTemplate(
        organisation_id=integra, name=DEMO_SERIAL_TEMPLATE, description="Wärmezähler am RS-485-Bus", **_HEAT_METER
    )
    session.add(template)
    await session.flush()
    locations = dict(
        (
            await session.execute(select(r.Location.name, r.Location.id).where(r.Location.organisation_id == integra))
        ).all()
    )
    session.add_all(
        [
            # made from the template: its values copied
            r.LocationSerialDevice(
                location_id=locations["Pumpstation Nord"],
                name=DEMO_SERIAL_TEMPLATE,
                description=template.description,
                template_id=template.id,
                **_HEAT_METER,
            ),
            r.LocationSerialDevice(
                location_id=locations["Wasserwerk Süd"],
                name="Durchflussmesser",
                description="Konsole des Durchflussmessers",
                protocol=r.SerialProtocol.TRANSPARENT,
                baud_rate=115200,
                data_bits=8,
                stop_bits=r.SerialStopBits.ONE,
                parity=r.SerialParity.NONE,
                serial_mode=r.SerialMode.RS232,
            ),
        ]
    )
    await session.flush()
