"""ROUTER_STATE events (subscriptions.channels): what the live-state subscription streams."""

from __future__ import annotations

from graph.domain import Hook
from graph.relay import to_global_id

#: async handler(session, router_ids: Sequence[int], online: bool, at) -> None, in the transaction that flips
#: the routers' state (heartbeat: online; watchdog: offline); monitoring raises and clears its system alarm.
ROUTER_ONLINE_CHANGED = Hook("router online state changed")


def router_event(
    kind: str, router_id: int, at, path: str, *, location_id: int | None = None, connection_id: int | None = None
) -> dict:
    """A ROUTER_STATE event (subscriptions.channels): kind ONLINE, OFFLINE, CONNECTED or DISCONNECTED."""
    return {
        "kind": kind,
        "routerId": to_global_id("Router", router_id),
        "locationId": to_global_id("Location", location_id) if location_id is not None else None,
        "connectionId": to_global_id("RemoteConnection", connection_id) if connection_id is not None else None,
        "at": at.isoformat(),
        "organisationPath": path,
    }


def state_event(router_id: int, online: bool, at, path: str) -> dict:
    return router_event("ONLINE" if online else "OFFLINE", router_id, at, path)
