"""The DNS check of login domains: the admin publishes a TXT record `_fleetgraph-verification.<domain>` holding
`fleetgraph-verification=<token>`; the domain is verified once a lookup finds it.

The lookup is pluggable (`TxtLookup`: a coroutine name -> TXT strings); the default asks dnspython's resolver,
at FLEETGRAPH_DNS_NAMESERVERS or (empty) the system's nameservers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from graph.settings import Settings

RECORD_PREFIX = "_fleetgraph-verification."
VALUE_PREFIX = "fleetgraph-verification="
#: How long one check may take (seconds): the admin waits for the answer.
TIMEOUT = 5.0

TxtLookup = Callable[[str], Awaitable[list[str]]]


def record_name(domain: str) -> str:
    return RECORD_PREFIX + domain


def record_value(token: str) -> str:
    return VALUE_PREFIX + token


def resolver_for(settings: Settings) -> dns.asyncresolver.Resolver:
    servers = settings.dns_nameserver_list
    resolver = dns.asyncresolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(address, port) for address, port in servers]
    resolver.lifetime = TIMEOUT
    return resolver


def dnspython_lookup(settings: Settings) -> TxtLookup:
    async def lookup(name: str) -> list[str]:
        """The TXT strings at `name` (the parts of each record joined); [] when there are none."""
        try:
            answer = await resolver_for(settings).resolve(name, "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers, dns.exception.Timeout):
            return []
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]

    return lookup


async def published(lookup: TxtLookup, domain: str, token: str) -> bool:
    return record_value(token) in [value.strip() for value in await lookup(record_name(domain))]
