"""routerConnectionState over a real websocket (graphql-transport-ws) against a real uvicorn server."""

from __future__ import annotations

import json
from datetime import timedelta

from websockets.asyncio.client import ClientConnection

from models.base import utcnow
from resolvers.remote.workers.watchdog import mark_silent_routers_offline
from tests.remote.helpers import (
    CONNECT,
    DISCONNECT,
    HEARTBEAT,
    LOCATION_CREATE,
    api_user_token,
    grant_location,
    register,
)
from tests.waiting import until
from tests.websocket import init, receive, ws_connect

STATE = """subscription($filter: RouterConnectionStateFilter) {
  routerConnectionState(filter: $filter) { kind at router { commonName online } location { name } }
}"""


async def start(ws: ClientConnection, token: str, variables: dict | None = None, operation_id: str = "1") -> None:
    ack = await init(ws, token)
    assert ack["type"] == "connection_ack", ack
    await ws.send(
        json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": STATE, "variables": variables or {}}})
    )


async def next_event(ws: ClientConnection) -> dict:
    message = await receive(ws)
    assert message["type"] == "next", message
    return message["payload"]["data"]["routerConnectionState"]


async def test_online_and_offline_reach_the_owner_only(gql, live_server, world, runtime):
    await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    await register(gql, world, "R_B1", "00:00:00:00:00:02", "SN-2", organisation="b")
    reporter_a = await api_user_token(runtime, world, "a", "router@a.example")
    reporter_b = await api_user_token(runtime, world, "b", "router@b.example")
    async with ws_connect(live_server) as owner, ws_connect(live_server) as other:
        await start(owner, world.tokens["admin_a"])
        await start(other, world.tokens["admin_b"])
        await until(lambda: runtime.events.subscriber_count == 2, "both subscriptions to listen")

        await gql(HEARTBEAT, {"input": {"commonName": "R_A1"}}, token=reporter_a)
        online = await next_event(owner)
        assert (online["kind"], online["router"], online["location"]) == (
            "ONLINE",
            {"commonName": "R_A1", "online": True},
            None,
        )

        flipped = await mark_silent_routers_offline(runtime, utcnow() + timedelta(minutes=5), 90)
        assert len(flipped) == 1
        offline = await next_event(owner)
        assert (offline["kind"], offline["router"]) == ("OFFLINE", {"commonName": "R_A1", "online": False})

        # B's subscriber was live all along: its first event is its own router's, none of A's came before it
        await gql(HEARTBEAT, {"input": {"commonName": "R_B1"}}, token=reporter_b)
        assert (await next_event(other))["router"]["commonName"] == "R_B1"


async def test_filter_ids_of_another_tenant_read_like_unknown_ones(gql, live_server, world, runtime):
    own = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    theirs = await register(gql, world, "R_B1", "00:00:00:00:00:02", "SN-2", organisation="b")
    reporter_a = await api_user_token(runtime, world, "a", "router@a.example")
    reporter_b = await api_user_token(runtime, world, "b", "router@b.example")
    async with ws_connect(live_server) as ws:
        await start(ws, world.tokens["admin_a"], {"filter": {"routerIds": [theirs, own]}})
        await until(lambda: runtime.events.subscriber_count == 1, "the subscription to listen")
        await gql(HEARTBEAT, {"input": {"commonName": "R_B1"}}, token=reporter_b)
        await gql(HEARTBEAT, {"input": {"commonName": "R_A1"}}, token=reporter_a)
        assert (await next_event(ws))["router"]["commonName"] == "R_A1"


async def test_malformed_filter_ids_get_a_typed_error(live_server, world, runtime):
    for bad in ("!!!", "", "A" * 10_000, "T3JnYW5pc2F0aW9uOjE"):  # the last: an Organisation ID
        async with ws_connect(live_server) as ws:
            await start(ws, world.tokens["admin_a"], {"filter": {"routerIds": [bad]}})
            message = await receive(ws)
            assert message["type"] in ("next", "error"), message
            errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
            assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], (bad, message)
    assert runtime.events.subscriber_count == 0


# --- connections (part: connections) ---------------------------------------------------------------------

STATE_WITH_CONNECTION = """subscription {
  routerConnectionState { kind router { commonName online } location { name } connection { userName endReason active } }
}"""


async def start_with_connection(ws: ClientConnection, token: str) -> None:
    ack = await init(ws, token)
    assert ack["type"] == "connection_ack", ack
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": STATE_WITH_CONNECTION}}))


async def depot_of_a_and_reporters(gql, world, runtime) -> tuple[str, str, str]:
    """R_A1 at A's Depot (granted to user_a) and R_B1 of B: the depot's ID and a reporter token of A and B."""
    router_id = await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    await register(gql, world, "R_B1", "00:00:00:00:00:02", "SN-2", organisation="b")
    made = await gql(
        LOCATION_CREATE, {"input": {"name": "Depot", "routerId": router_id}}, token=world.tokens["admin_a"]
    )
    depot = made["data"]["locationCreate"]["location"]["id"]
    await grant_location(runtime, world, "user_a", depot)
    reporter_a = await api_user_token(runtime, world, "a", "router@a.example")
    reporter_b = await api_user_token(runtime, world, "b", "router@b.example")
    return depot, reporter_a, reporter_b


async def assert_online_connect_and_disconnect_reach(owner, gql, world, depot: str, reporter_a: str) -> None:
    """A heartbeat, a connect and a disconnect at the depot: each an event of the owner's subscription."""
    user = world.users["user_a"].name
    await gql(HEARTBEAT, {"input": {"commonName": "R_A1"}}, token=reporter_a)
    assert await next_event(owner) == {
        "kind": "ONLINE",
        "router": {"commonName": "R_A1", "online": True},
        "location": {"name": "Depot"},
        "connection": None,
    }
    connect = await gql(CONNECT, {"input": {"locationId": depot}}, token=world.tokens["user_a"])
    assert connect["data"]["routerConnect"]["result"] == "CONNECTED"
    assert await next_event(owner) == {
        "kind": "CONNECTED",
        "router": {"commonName": "R_A1", "online": True},
        "location": {"name": "Depot"},
        "connection": {"userName": user, "endReason": None, "active": True},
    }
    disconnect = await gql(DISCONNECT, {"input": None}, token=world.tokens["user_a"])
    assert disconnect["data"]["routerDisconnect"]["result"] == "DISCONNECTED"
    assert await next_event(owner) == {
        "kind": "DISCONNECTED",
        "router": {"commonName": "R_A1", "online": True},
        "location": {"name": "Depot"},
        "connection": {"userName": user, "endReason": "DISCONNECTED", "active": False},
    }


async def test_offline_online_connect_and_disconnect_reach_the_owner_only(gql, live_server, world, runtime):
    """The issue's must-show: a real websocket client sees a router go offline when its heartbeats stop and
    come back online, and a user's connect and disconnect; a subscriber of another organisation sees none of it."""
    from sqlalchemy import update

    from models import remote as r
    from resolvers.remote.workers.watchdog import RouterWatchdog

    depot, reporter_a, reporter_b = await depot_of_a_and_reporters(gql, world, runtime)
    user = world.users["user_a"].name

    async def events(ws, count):
        return [await next_event(ws) for _ in range(count)]

    async with ws_connect(live_server) as owner, ws_connect(live_server) as other:
        await start_with_connection(owner, world.tokens["admin_a"])
        await start_with_connection(other, world.tokens["admin_b"])
        await until(lambda: runtime.events.subscriber_count == 2, "both subscriptions to listen")

        await assert_online_connect_and_disconnect_reach(owner, gql, world, depot, reporter_a)

        # connected again when the heartbeats stop: the watchdog takes the router offline and ends the connection
        assert (await gql(CONNECT, {"input": {"locationId": depot}}, token=world.tokens["user_a"]))["data"][
            "routerConnect"
        ]["result"] == "CONNECTED"
        assert (await next_event(owner))["kind"] == "CONNECTED"
        async with runtime.session_factory() as session, session.begin():
            await session.execute(
                update(r.Router)
                .where(r.Router.common_name == "R_A1")
                .values(last_heartbeat_at=utcnow() - timedelta(hours=1))
            )
        await RouterWatchdog(runtime).run_round()
        offline, ended = await events(owner, 2)
        assert (offline["kind"], offline["router"]["online"]) == ("OFFLINE", False)
        assert (ended["kind"], ended["connection"]) == (
            "DISCONNECTED",
            {"userName": user, "endReason": "ROUTER_OFFLINE", "active": False},
        )

        # heartbeats again: back online
        await gql(HEARTBEAT, {"input": {"commonName": "R_A1"}}, token=reporter_a)
        back = await next_event(owner)
        assert (back["kind"], back["router"]) == ("ONLINE", {"commonName": "R_A1", "online": True})

        # B's subscriber was live all along: its first event is its own router's, none of A's came before it
        await gql(HEARTBEAT, {"input": {"commonName": "R_B1"}}, token=reporter_b)
        first = await next_event(other)
        assert (first["kind"], first["router"]["commonName"], first["connection"]) == ("ONLINE", "R_B1", None)


async def test_abruptly_dropped_router_state_websocket_leaves_no_subscriber(gql, live_server, world, runtime):
    await register(gql, world, "R_A1", "00:00:00:00:00:01", "SN-1")
    reporter = await api_user_token(runtime, world, "a", "router@a.example")
    ws = await ws_connect(live_server)
    try:
        await start(ws, world.tokens["admin_a"])
        await until(lambda: runtime.events.subscriber_count == 1, "the subscription to listen")
    finally:
        # the TCP connection closed without a close frame, as a vanished client does
        ws.transport.abort()
    await until(lambda: runtime.events.subscriber_count == 0, "the server to drop the dead connection's subscriber")

    # an event published now finds nobody left behind, and a new subscriber still gets events
    await gql(HEARTBEAT, {"input": {"commonName": "R_A1"}}, token=reporter)
    assert runtime.events.subscriber_count == 0
    async with ws_connect(live_server) as again:
        await start(again, world.tokens["admin_a"])
        await until(lambda: runtime.events.subscriber_count == 1, "the new subscription to listen")
        flipped = await mark_silent_routers_offline(runtime, utcnow() + timedelta(minutes=5), 90)
        assert len(flipped) == 1
        assert (await next_event(again))["kind"] == "OFFLINE"
