"""Checking the addresses of a local network behind a router (manual §14) and of firewall rules (§12) with
ipaddress: every refusal is a typed INVALID (or REQUIRED) error naming the field."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from graph.errors import DomainError
from resolvers.remote.errors import RemoteErrorCode as Code

Field = str | list[str]
#: A LAN needs room for a gateway, DNS and devices: /8 (a whole private block) to /30 (two hosts).
MIN_PREFIX, MAX_PREFIX = 8, 30
MAX_DNS_SERVERS = 3


def _text(value: str | None, field: Field, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError(Code.REQUIRED, f"{what} is required.", field)
    if len(text) > 49 or "\x00" in text:
        raise DomainError(Code.INVALID, f"Not {what.lower()}.", field)
    return text


def lan_network(value: str, field: Field) -> str:
    """A LAN as a router reports it: an IPv4 network, or its own address with the prefix ("192.168.1.1/24");
    stored as the network ("192.168.1.0/24")."""
    try:
        network = ipaddress.IPv4Network(_text(value, field, "A subnet"), strict=False)
    except ValueError as error:
        raise DomainError(Code.INVALID, "Not an IPv4 subnet in CIDR notation (e.g. 192.168.1.0/24).", field) from error
    return str(network)


def any_network(value: str, field: Field) -> str:
    """A network of a firewall rule, IPv4 or IPv6 in CIDR notation; an address alone is a /32 (/128). Host bits
    set are a typing error (192.168.1.5/24): refused, with the network it would be."""
    text = _text(value, field, "A network")
    try:
        return str(ipaddress.ip_network(text))
    except ValueError as error:
        try:
            meant = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise DomainError(
                Code.INVALID, "Not a network in CIDR notation (e.g. 10.0.0.0/8 or 0.0.0.0/0).", field
            ) from error
        raise DomainError(Code.INVALID, f"Host bits are set: the network is {meant}.", field) from error


@dataclass
class NetworkSettings:
    subnet: str
    gateway: str
    dns_servers: list[str]


def _subnet(value: str) -> ipaddress.IPv4Network:
    text = _text(value, "subnet", "A subnet")
    try:
        network = ipaddress.IPv4Network(text)
    except ValueError as error:
        try:
            meant = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            raise DomainError(
                Code.INVALID, "Not an IPv4 subnet in CIDR notation (e.g. 192.168.1.0/24).", "subnet"
            ) from error
        raise DomainError(Code.INVALID, f"Host bits are set: the subnet is {meant}.", "subnet") from error
    if not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        raise DomainError(Code.INVALID, f"The prefix must be between /{MIN_PREFIX} and /{MAX_PREFIX}.", "subnet")
    if not network.is_private or network.is_loopback or network.is_link_local:
        raise DomainError(
            Code.INVALID, "A local network uses private addresses (10/8, 172.16/12 or 192.168/16).", "subnet"
        )
    return network


def _host_in(network: ipaddress.IPv4Network, value: str, field: Field, what: str) -> ipaddress.IPv4Address:
    try:
        address = ipaddress.IPv4Address(_text(value, field, what))
    except ValueError as error:
        raise DomainError(Code.INVALID, f"{what} must be an IPv4 address.", field) from error
    if address not in network:
        raise DomainError(Code.INVALID, f"{what} must be inside the subnet {network}.", field)
    if address in (network.network_address, network.broadcast_address):
        raise DomainError(Code.INVALID, f"{what} cannot be the network or the broadcast address.", field)
    return address


def _dns_server(network: ipaddress.IPv4Network, value: str, field: Field) -> str:
    try:
        address = ipaddress.ip_address(_text(value, field, "A DNS server"))
    except ValueError as error:
        raise DomainError(Code.INVALID, "A DNS server must be an IP address.", field) from error
    if address.is_unspecified or address.is_multicast or address.is_loopback:
        raise DomainError(Code.INVALID, "Not a usable DNS server address.", field)
    if address.version == 4 and address in network:
        _host_in(network, str(address), field, "A DNS server")  # not the network or broadcast address
    return str(address)


def check_network_settings(subnet: str, gateway: str, dns_servers: list[str]) -> NetworkSettings:
    """A local network's settings, checked and normalised; the first problem is refused."""
    network = _subnet(subnet)
    gateway_address = _host_in(network, gateway, "gateway", "The gateway")
    if len(dns_servers) > MAX_DNS_SERVERS:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_DNS_SERVERS} DNS servers.", "dnsServers")
    servers: list[str] = []
    for index, value in enumerate(dns_servers):
        server = _dns_server(network, value, ["dnsServers", str(index)])
        if server in servers:
            raise DomainError(Code.DUPLICATE, "This DNS server is listed twice.", ["dnsServers", str(index)])
        servers.append(server)
    return NetworkSettings(subnet=str(network), gateway=str(gateway_address), dns_servers=servers)


def same_network(configured: str | None, reported: str | None) -> bool | None:
    """Whether the router reports the configured subnet; null when either is unknown."""
    if configured is None or reported is None:
        return None
    return ipaddress.IPv4Network(configured) == ipaddress.IPv4Network(reported)
