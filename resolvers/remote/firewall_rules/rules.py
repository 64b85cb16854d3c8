"""Firewall rules (manual §12): the platform keeps them per organisation; the organisation's users only read them.

Ports are one port ("443") or a range ("8000-8100") for TCP and UDP, or none (every port); ICMP and ANY have no
ports. Source and destination are networks in CIDR notation of the same IP version (checked with ipaddress)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import clean_text
from graph.tenancy import visible_organisation
from models import portal as pt
from resolvers.audit.rules import record
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.firewall_rules.loaders import firewall_rule_visible
from resolvers.remote.local_network.addresses import any_network

MAX_DESCRIPTION = 500
_PORTS = re.compile(r"(\d{1,5})(?:\s*-\s*(\d{1,5}))?")
_PORTED = (pt.FirewallProtocol.TCP, pt.FirewallProtocol.UDP)


@dataclass
class RuleFields:
    organisation_id: str
    direction: pt.FirewallDirection
    protocol: pt.FirewallProtocol
    ports: str | None
    source: str
    destination: str
    description: str


def parse_ports(protocol: pt.FirewallProtocol, ports: str | None) -> tuple[int | None, int | None]:
    text = (ports or "").strip()
    if not text or text.lower() == "any":
        return None, None
    if protocol not in _PORTED:
        raise DomainError(Code.INVALID, f"{protocol.value} has no ports: leave them out.", "ports")
    match = _PORTS.fullmatch(text)
    if match is None:
        raise DomainError(Code.INVALID, 'Give a port ("443") or a range ("8000-8100").', "ports")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    if not (1 <= first <= 65535 and 1 <= last <= 65535):
        raise DomainError(Code.INVALID, "Ports are from 1 to 65535.", "ports")
    if last < first:
        raise DomainError(Code.INVALID, "A range goes from the lower port to the higher one.", "ports")
    return first, last


def _networks(source: str, destination: str) -> tuple[str, str]:
    networks = any_network(source, "source"), any_network(destination, "destination")
    if len({ipaddress.ip_network(network).version for network in networks}) > 1:
        raise DomainError(Code.INVALID, "Source and destination must be of the same IP version.", "destination")
    return networks


async def create_rule(session: AsyncSession, context: Context, fields: RuleFields) -> pt.FirewallRule:
    organisation = await visible_organisation(
        session, require_principal(context), fields.organisation_id, "organisationId"
    )
    port_from, port_to = parse_ports(fields.protocol, fields.ports)
    source, destination = _networks(fields.source, fields.destination)
    rule = pt.FirewallRule(
        organisation_id=organisation.id,
        direction=fields.direction,
        protocol=fields.protocol,
        port_from=port_from,
        port_to=port_to,
        source=source,
        destination=destination,
        description=clean_text(fields.description, "description", max_length=MAX_DESCRIPTION, required=False),
    )
    session.add(rule)
    await session.flush()
    await record(
        session,
        context,
        "firewall_rule.created",
        organisation_id=organisation.id,
        target_type="FirewallRule",
        target_id=rule.id,
        details={"direction": rule.direction.value, "protocol": rule.protocol.value, "source": source},
    )
    return rule


async def delete_rule(session: AsyncSession, context: Context, rule_id: str) -> int:
    pk = decode_id(rule_id, "FirewallRule")
    rule = None
    if pk is not None:
        statement = select(pt.FirewallRule).where(pt.FirewallRule.id == pk, firewall_rule_visible(context.principal))
        rule = await session.scalar(statement)
    if rule is None:
        raise DomainError(Code.NOT_FOUND, "No such firewall rule.", "id")
    await session.delete(rule)
    await session.flush()
    await record(
        session,
        context,
        "firewall_rule.deleted",
        organisation_id=rule.organisation_id,
        target_type="FirewallRule",
        target_id=pk,
    )
    return rule.id
