"""The `alarms` subscription over a real websocket against a real uvicorn server: raised by ingest, updated,
acknowledged, cleared, each seen by the owner and by nobody of another tenant; resuming with a cursor gets
exactly what was missed; filter IDs of another tenant read like unknown ones."""

from __future__ import annotations

import asyncio
import contextlib
import json

from websockets.asyncio.client import ClientConnection

from models import remote as r
from subscriptions import delivery
from tests.monitoring.alarm_helpers import ACKNOWLEDGE, CREATE, T0, pk, seconds, seed, store_points
from tests.waiting import until
from tests.websocket import init, receive, receive_text, ws_connect

STREAM = """subscription($filter: AlarmStreamFilter, $after: String) {
  alarms(filter: $filter, after: $after) { cursor kind state alarm { profileName severity occurrences lastValue
    acknowledgedBy location { name } device { name } } location { name } device { name } }
}"""
TEMPERATURE = {
    "name": "HIGH_TEMPERATURE",
    "severity": "HIGH",
    "activationFilters": [{"key": "temperature", "condition": "GT", "value": 80}],
    "clearingFilters": [{"key": "temperature", "condition": "LT", "value": 75}],
}


async def start(ws: ClientConnection, token: str, variables: dict | None = None, operation_id: str = "1") -> None:
    if operation_id == "1":
        ack = await init(ws, token)
        assert ack["type"] == "connection_ack", ack
    payload = {"query": STREAM, "variables": variables or {}}
    await ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))


async def next_event(ws: ClientConnection, operation_id: str = "1") -> dict:
    message = await receive(ws)
    assert message["type"] == "next" and message["id"] == operation_id, message
    return message["payload"]["data"]["alarms"]


async def profiles(gql, world, ids) -> None:
    for tenant in ("a", "b"):
        given = {**TEMPERATURE, "locationGroupIds": [ids[f"group_{tenant}"]]}
        made = await gql(CREATE, {"input": given}, token=world.tokens[f"admin_{tenant}"])
        assert made["data"]["alarmProfileCreate"]["errors"] == [], made


def summary(event: dict) -> tuple:
    return event["kind"], event["state"], event["alarm"]["occurrences"]


async def test_raised_updated_acknowledged_cleared_reach_the_owner_only(gql, live_server, world, runtime):
    ids = await seed(runtime, world)
    await profiles(gql, world, ids)
    plant, device = ids["plant_a"], ids["device_a"]
    async with ws_connect(live_server) as owner, ws_connect(live_server) as other:
        await start(owner, world.tokens["admin_a"])
        await start(other, world.tokens["admin_b"])
        await until(lambda: runtime.events.subscriber_count == 2, "both subscriptions to listen")

        await store_points(runtime, [(plant, device, "temperature", T0, 85)])
        raised = await next_event(owner)
        assert summary(raised) == ("RAISED", "ACTIVE_UNACK", 1)
        assert (raised["location"], raised["device"]) == ({"name": "Plant a"}, {"name": "HMI Pumpe 1"})
        assert raised["alarm"]["location"] == {"name": "Plant a"} and raised["alarm"]["device"] == {
            "name": "HMI Pumpe 1"
        }
        await store_points(runtime, [(plant, device, "temperature", T0 + seconds(1), 88)])
        updated = await next_event(owner)
        assert (updated["kind"], updated["alarm"]["lastValue"]) == ("UPDATED", 88.0)
        alarm_id = (await gql("{ alarms { nodes { id } } }", token=world.tokens["admin_a"]))["data"]["alarms"]["nodes"][
            0
        ]["id"]
        await gql(ACKNOWLEDGE, {"id": alarm_id}, token=world.tokens["admin_a"])
        acknowledged = await next_event(owner)
        assert (acknowledged["kind"], acknowledged["state"], acknowledged["alarm"]["acknowledgedBy"]) == (
            "ACKNOWLEDGED",
            "ACTIVE_ACK",
            "admin@a.example",
        )
        await store_points(runtime, [(plant, device, "temperature", T0 + seconds(2), 70)])
        assert summary(await next_event(owner)) == ("CLEARED", "CLEARED_ACK", 2)

        # B's subscriber was live all along: its first event is its own alarm's, none of A's came before it
        await store_points(runtime, [(ids["plant_b"], ids["device_b"], "temperature", T0, 99)])
        theirs = await next_event(other)
        assert (theirs["kind"], theirs["alarm"]["location"]) == ("RAISED", {"name": "Plant b"})


async def test_a_client_resumes_with_its_cursor_and_gets_exactly_what_it_missed(gql, live_server, world, runtime):
    ids = await seed(runtime, world)
    await profiles(gql, world, ids)
    plant, device = ids["plant_a"], ids["device_a"]
    async with ws_connect(live_server) as ws:
        await start(ws, world.tokens["admin_a"])
        await until(lambda: runtime.events.subscriber_count == 1, "the subscription to listen")
        await store_points(runtime, [(plant, device, "temperature", T0, 85)])
        cursor = (await next_event(ws))["cursor"]
    await until(lambda: runtime.events.subscriber_count == 0, "the dropped subscriber to be gone")
    # while away: a repeat, an alarm of B's, an alarm at another device, the clear
    await store_points(runtime, [(plant, device, "temperature", T0 + seconds(1), 90)])
    await store_points(runtime, [(ids["plant_b"], ids["device_b"], "temperature", T0, 99)])
    await store_points(runtime, [(plant, None, "temperature", T0 + seconds(2), 91)])
    await store_points(runtime, [(plant, device, "temperature", T0 + seconds(3), 60)])
    async with ws_connect(live_server) as ws:
        await start(ws, world.tokens["admin_a"], {"after": cursor})
        missed = [await next_event(ws) for _ in range(3)]
        assert [(e["kind"], e["alarm"]["device"]) for e in missed] == [
            ("UPDATED", {"name": "HMI Pumpe 1"}),
            ("RAISED", None),
            ("CLEARED", {"name": "HMI Pumpe 1"}),
        ]
        assert len({e["cursor"] for e in missed} | {cursor}) == 4
        # then live, with nothing repeated in between
        await store_points(runtime, [(plant, None, "temperature", T0 + seconds(4), 92)])
        assert (await next_event(ws))["kind"] == "UPDATED"


async def test_filters_and_another_tenants_ids_read_like_unknown_ones(gql, live_server, world, runtime):
    ids = await seed(runtime, world)
    await profiles(gql, world, ids)
    async with ws_connect(live_server) as ws:
        await start(ws, world.tokens["admin_a"], {"filter": {"locationIds": [ids["plant_b"]]}})
        await start(ws, world.tokens["admin_a"], {"filter": {"locationIds": [ids["depot_a"]]}}, operation_id="2")
        await start(
            ws,
            world.tokens["admin_a"],
            {"filter": {"locationIds": [ids["plant_a"]], "severities": ["HIGH"]}},
            operation_id="3",
        )
        await until(lambda: runtime.events.subscriber_count == 3, "the subscriptions to listen")
        await store_points(runtime, [(ids["plant_b"], ids["device_b"], "temperature", T0, 99)])
        await store_points(runtime, [(ids["plant_a"], ids["device_a"], "temperature", T0, 99)])
        # the first message on the socket is operation 3's: operation 1 got nothing of B's
        assert (await next_event(ws, "3"))["alarm"]["location"] == {"name": "Plant a"}


async def test_malformed_filter_ids_get_a_typed_error(live_server, world, runtime):
    for bad in ("!!!", "", "A" * 10_000, "T3JnYW5pc2F0aW9uOjE"):  # the last: an Organisation ID
        for field in ("locationIds", "profileIds"):
            async with ws_connect(live_server) as ws:
                await start(ws, world.tokens["admin_a"], {"filter": {field: [bad]}})
                message = await receive(ws)
                assert message["type"] in ("next", "error"), message
                errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
                assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], (bad, message)
    assert runtime.events.subscriber_count == 0


async def test_subscribers_share_one_execution_and_one_payload(gql, live_server, world, runtime):
    """A's admins and a user granted the location see the alarm alike: one execution, one payload text for
    all twenty."""
    ids = await seed(runtime, world)
    await profiles(gql, world, ids)
    async with runtime.session_factory() as session, session.begin():
        session.add(r.LocationUserAccess(location_id=pk(ids["plant_a"]), user_id=world.users["user_a"].id))
    query = "subscription { alarms { kind alarm { profileName severity state } location { name } device { name } } }"
    async with contextlib.AsyncExitStack() as stack:
        sockets = []
        for token in [world.tokens["admin_a"]] * 10 + [world.tokens["user_a"]] * 10:
            ws = await stack.enter_async_context(ws_connect(live_server))
            assert (await init(ws, token))["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            sockets.append(ws)
        await until(lambda: runtime.events.subscriber_count == 20, "twenty subscribers to listen")
        executions, sends = delivery.counters["executions"], delivery.counters["sent"]
        await store_points(runtime, [(ids["plant_a"], ids["device_a"], "temperature", T0, 85)])
        texts = await asyncio.gather(*(receive_text(ws) for ws in sockets))
        assert (delivery.counters["executions"], delivery.counters["sent"]) == (executions + 1, sends + 20)
        assert len(set(texts)) == 1
        event = json.loads(texts[0])["payload"]["data"]["alarms"]
        assert event["location"] == {"name": "Plant a"} and event["alarm"]["state"] == "ACTIVE_UNACK"


async def test_an_events_sql_does_not_grow_with_its_subscribers(gql, live_server, world, runtime, count_sql):
    """Ingest to receipt: the same statements for one subscriber or twenty (the alarm, its location and device
    loaded once per event for all; rights known from the warm-up event)."""
    ids = await seed(runtime, world)
    await profiles(gql, world, ids)
    plant, device = ids["plant_a"], ids["device_a"]
    counts = []
    query = "subscription { alarms { kind alarm { profileName } location { name } device { name } } }"
    for round_, subscribers in enumerate((1, 20)):
        async with contextlib.AsyncExitStack() as stack:
            sockets = []
            for _ in range(subscribers):
                ws = await stack.enter_async_context(ws_connect(live_server))
                assert (await init(ws, world.tokens["admin_a"]))["type"] == "connection_ack"
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
                sockets.append(ws)
            await until(lambda n=subscribers: runtime.events.subscriber_count == n, "the subscribers to listen")
            base = T0 + seconds(10 * round_)
            await store_points(runtime, [(plant, device, "temperature", base, 90)])  # warm-up: rights loaded
            await asyncio.gather(*(receive_text(ws) for ws in sockets))
            with count_sql() as counted:
                await store_points(runtime, [(plant, device, "temperature", base + seconds(1), 70)])
                await asyncio.gather(*(receive_text(ws) for ws in sockets))
            counts.append(counted.count)
        await until(lambda: runtime.events.subscriber_count == 0, "the subscribers to leave")
    assert counts[0] == counts[1], counts
