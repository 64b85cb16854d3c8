"""What every forwarding adapter does first: the delivery's target with its secrets opened."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

from graph.secrets import SecretError
from models import forwarding as fw
from resolvers.monitoring.delivery.engine import Delivery, DeliveryError
from resolvers.monitoring.forwarding.sealing import open_secret


@dataclass(frozen=True)
class Target:
    id: int
    settings: dict[str, Any]
    secrets: dict[str, str] = field(repr=False)


async def load_target(runtime: Any, delivery: Delivery) -> Target:
    async with runtime.session_factory() as session:
        row = await session.get(fw.ForwardingTarget, delivery.target_id)
        if row is None:
            raise DeliveryError("The forwarding target was deleted.", permanent=True)
        try:
            secrets = open_secret(runtime.sealer, row.id, row.secret)
        except SecretError:
            # a master key version this process lacks: another process, or a later attempt, may have it
            raise DeliveryError("The target's secret does not open under this server's master keys.") from None
        return Target(id=row.id, settings=dict(row.settings or {}), secrets=secrets)


async def check_address(runtime: Any, host: str) -> None:
    """Refuse a host that resolves to a private, loopback, link-local or otherwise non-public address, unless the
    settings allow them (FLEETGRAPH_FORWARDING_PRIVATE_ADDRESSES). Not permanent: the operator may change either."""
    if runtime.settings.forwarding_private_addresses:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise DeliveryError(f"{host} does not resolve.") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise DeliveryError(f"{host} is at a non-public address ({address}); forwarding there is not allowed.")
