"""The link to the routers for datalog uploads and discovery: MQTT when FLEETGRAPH_MQTT_URL is set
(workers/datalog_link.py), in demo mode without MQTT an in-process simulated router (workers/datalog_demo.py).
Either is the runtime's worker named NAME (runtime.workers); mutations find it with `link_of`."""

from __future__ import annotations

from typing import Any, Protocol


class LinkUnavailable(Exception):
    """No link, or it is not connected: nothing was sent."""


class DiscoveryTimeout(Exception):
    """The router did not answer in time."""


class RouterLink(Protocol):
    async def send_config(self, common_name: str, request_id: str, document: dict) -> None:
        """Publish the configuration (QoS 1); the acknowledgement comes back on its own (upload.apply_ack)."""

    async def discover(self, common_name: str, request: dict, timeout: float) -> dict:
        """Send a discovery request and wait for its answer ({ok, reason, result}); DiscoveryTimeout after
        `timeout` seconds."""


#: The name of both links in runtime.workers.
NAME = "datalog-link"


def register(runtime: Any, link: RouterLink) -> None:
    """For a link started outside the runtime's own start (tests): the runtime's own is there already."""
    runtime.workers.setdefault(NAME, link)


def unregister(runtime: Any, link: RouterLink) -> None:
    if runtime.workers.get(NAME) is link:
        del runtime.workers[NAME]


def link_of(runtime: Any) -> RouterLink | None:
    return runtime.workers.get(NAME)
