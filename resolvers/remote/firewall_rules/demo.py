"""Firewall rule demo data (Domain.demo): what applies to IntegraDemo's routers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import portal as pt

#: (direction, protocol, first port, last port, source, destination, description)
DEMO_RULES = [
    (pt.FirewallDirection.INBOUND, pt.FirewallProtocol.TCP, 443, 443, "0.0.0.0/0", "192.168.1.0/24", "HMI web panels"),
    (pt.FirewallDirection.INBOUND, pt.FirewallProtocol.TCP, 102, 102, "10.8.0.0/16", "192.168.1.0/24", "S7 PLCs (VPN)"),
    (pt.FirewallDirection.OUTBOUND, pt.FirewallProtocol.UDP, 47808, 47808, "192.168.1.0/24", "0.0.0.0/0", "BACnet"),
]


async def seed_demo_firewall_rules(session: AsyncSession, tenants: DemoTenants) -> None:
    integra = tenants.organisations["integra"].id
    for direction, protocol, first, last, source, destination, description in DEMO_RULES:
        session.add(
            pt.FirewallRule(
                organisation_id=integra,
                direction=direction,
                protocol=protocol,
                port_from=first,
                port_to=last,
                source=source,
                destination=destination,
                description=description,
            )
        )
