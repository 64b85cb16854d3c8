"""routerConnectionState with many subscribers over real websockets: the SQL statements an event costs do not
grow with its subscribers (rows and rights are loaded once per event for all of them), and a grant withdrawn
while 100 subscribers listen stops the next event for exactly those who lost it."""

from __future__ import annotations

import asyncio
import contextlib
import json

from graph.context import publish_after_commit
from graph.relay import to_global_id
from graph.workers import transaction
from models import identity as m
from models.base import utcnow
from resolvers.remote.router_events import router_event
from subscriptions import channels, delivery
from tests.factories import add_external_user, add_user, issue_token
from tests.remote.access_helpers import ACCESS_SET, add_locations
from tests.waiting import until
from tests.websocket import init, receive, receive_text, ws_connect

STATE = """subscription { routerConnectionState { cursor kind router { commonName online } location { name } } }"""


async def announce(runtime, world, places, name: str, kind: str = "ONLINE") -> None:
    """Commit a ROUTER_STATE event for the router of location `name`, as the heartbeat and the watchdog do."""
    async with transaction(runtime) as session:
        event = router_event(kind, places.routers[name], utcnow(), world.organisations["a"].path)
        publish_after_commit(session, channels.ROUTER_STATE, event)


async def plain_user(runtime, world, email: str) -> tuple[str, str]:
    """A USER of Tenant A: (global ID, token)."""
    async with runtime.session_factory() as session, session.begin():
        user = await add_user(session, world.organisations["a"], email, [m.Role.USER])
        return to_global_id("User", user.id), await issue_token(session, user)


async def open_subscribers(stack, live_server, tokens: list[str]) -> list:
    sockets = []
    for token in tokens:
        ws = await stack.enter_async_context(ws_connect(live_server))
        ack = await init(ws, token)
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": STATE}}))
        sockets.append(ws)
    return sockets


async def next_router(ws) -> tuple[str, str | None]:
    message = await receive(ws)
    assert message["type"] == "next" and "errors" not in message["payload"], message
    event = message["payload"]["data"]["routerConnectionState"]
    return event["router"]["commonName"], (event["location"] or {}).get("name")


async def statements_for_one_event(runtime, world, places, count_sql, sockets, expected: int) -> int:
    """SQL statements from committing one event until every subscriber that may see it has it (count_sql leaves
    out the stream's timed reads of the event log: per process and per second, not per event)."""
    with count_sql() as counter:
        await announce(runtime, world, places, "North")
        heard = await asyncio.gather(*(next_router(ws) for ws in sockets[:expected]))
    assert heard == [("R_ACC000", "North")] * expected
    return counter.count


async def test_statements_per_event_stay_the_same_from_1_to_30_subscribers(live_server, world, runtime, count_sql, gql):
    places = await add_locations(runtime, world, {"North": "a"})
    erika, erika_token = await plain_user(runtime, world, "erika@a.example")
    rights_seen = runtime.events.rights_epoch
    result = await gql(
        ACCESS_SET, {"input": {"locationId": places.ids["North"], "userIds": [erika]}}, token=world.tokens["admin_a"]
    )
    assert result["data"]["locationAccessSet"]["errors"] == [], result
    # The stream dispatches the grant's rights change on its own time: a subscriber that joined before that would
    # check its rights again at the measured event (one statement more, alone, on a busy machine).
    await until(lambda: runtime.events.rights_epoch > rights_seen, "the stream to see the grant")
    async with contextlib.AsyncExitStack() as stack:
        one = await open_subscribers(stack, live_server, [world.tokens["admin_a"]])
        await until(lambda: runtime.events.subscriber_count == 1, "the subscriber to listen")
        alone = await statements_for_one_event(runtime, world, places, count_sql, one, 1)

        # 29 more, of three kinds of rights: the organisation's admin, a user granted the location, and the
        # other tenant's admin (who must hear nothing); the first 20 are the ones that see it.
        many = one + await open_subscribers(
            stack, live_server, [world.tokens["admin_a"]] * 9 + [erika_token] * 10 + [world.tokens["admin_b"]] * 10
        )
        await until(lambda: runtime.events.subscriber_count == 30, "thirty subscribers to listen")
        crowded = await statements_for_one_event(runtime, world, places, count_sql, many, 20)
    assert crowded == alone, f"{alone} statements for one subscriber, {crowded} for thirty"


async def test_a_withdrawn_grant_stops_the_next_event_for_its_100_subscribers_only(live_server, world, runtime, gql):
    places = await add_locations(runtime, world, {"North": "a", "South": "a"})
    erika, erika_token = await plain_user(runtime, world, "erika@a.example")
    max_, max_token = await plain_user(runtime, world, "max@a.example")
    for name in ("North", "South"):
        given = await gql(
            ACCESS_SET,
            {"input": {"locationId": places.ids[name], "userIds": [erika, max_]}},
            token=world.tokens["admin_a"],
        )
        assert given["data"]["locationAccessSet"]["errors"] == [], given
    async with contextlib.AsyncExitStack() as stack:
        sockets = await open_subscribers(stack, live_server, [erika_token] * 50 + [max_token] * 50)
        erikas, maxes = sockets[:50], sockets[50:]
        await until(lambda: runtime.events.subscriber_count == 100, "a hundred subscribers to listen")
        await announce(runtime, world, places, "North")
        assert await asyncio.gather(*(next_router(ws) for ws in sockets)) == [("R_ACC000", "North")] * 100

        taken = await gql(
            ACCESS_SET, {"input": {"locationId": places.ids["North"], "userIds": [max_]}}, token=world.tokens["admin_a"]
        )
        assert taken["data"]["locationAccessSet"]["errors"] == [], taken
        await announce(runtime, world, places, "North")
        assert await asyncio.gather(*(next_router(ws) for ws in maxes)) == [("R_ACC000", "North")] * 50

        # Erika still has South: the next thing each of her 50 sockets hears is South, so North never came.
        await announce(runtime, world, places, "South")
        assert await asyncio.gather(*(next_router(ws) for ws in erikas)) == [("R_ACC001", "South")] * 50
        assert await asyncio.gather(*(next_router(ws) for ws in maxes)) == [("R_ACC001", "South")] * 50


async def test_a_replay_applies_the_rights_of_now(live_server, world, runtime, gql):
    """Events of a location whose grant was withdrawn since are left out of a replay, though they were sent
    live to the subscriber when they happened."""
    places = await add_locations(runtime, world, {"North": "a", "South": "a"})
    erika, erika_token = await plain_user(runtime, world, "erika@a.example")
    for name in ("North", "South"):
        given = await gql(
            ACCESS_SET, {"input": {"locationId": places.ids[name], "userIds": [erika]}}, token=world.tokens["admin_a"]
        )
        assert given["data"]["locationAccessSet"]["errors"] == [], given
    async with contextlib.AsyncExitStack() as stack:
        [ws] = await open_subscribers(stack, live_server, [erika_token])
        await until(lambda: runtime.events.subscriber_count == 1, "the subscriber to listen")
        await announce(runtime, world, places, "South")
        first = await receive(ws)
        cursor = first["payload"]["data"]["routerConnectionState"]["cursor"]
    await until(lambda: runtime.events.subscriber_count == 0, "the subscriber to leave")
    for name in ("North", "South", "North"):
        await announce(runtime, world, places, name)
    taken = await gql(
        ACCESS_SET, {"input": {"locationId": places.ids["North"], "userIds": []}}, token=world.tokens["admin_a"]
    )
    assert taken["data"]["locationAccessSet"]["errors"] == [], taken

    async with ws_connect(live_server) as ws:
        assert (await init(ws, erika_token))["type"] == "connection_ack"
        query = "subscription($after: String) { routerConnectionState(after: $after) { location { name } } }"
        payload = {"query": query, "variables": {"after": cursor}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        message = await receive(ws)
        assert message["payload"]["data"]["routerConnectionState"] == {"location": {"name": "South"}}, message
        await announce(runtime, world, places, "South")  # live: the next thing heard, so no North came between
        message = await receive(ws)
        assert message["payload"]["data"]["routerConnectionState"] == {"location": {"name": "South"}}, message


def delivery_counts() -> tuple[int, int]:
    return delivery.counters["executions"], delivery.counters["sent"]


async def test_subscribers_of_one_document_share_one_execution_and_one_payload(live_server, world, runtime, gql):
    """Admins of A and a user granted the location see the event alike: one execution, and every one of them
    gets the very same payload text. B's admins get nothing."""
    places = await add_locations(runtime, world, {"North": "a"})
    erika, erika_token = await plain_user(runtime, world, "erika@a.example")
    given = await gql(
        ACCESS_SET, {"input": {"locationId": places.ids["North"], "userIds": [erika]}}, token=world.tokens["admin_a"]
    )
    assert given["data"]["locationAccessSet"]["errors"] == [], given
    tokens = [world.tokens["admin_a"]] * 10 + [erika_token] * 10 + [world.tokens["admin_b"]] * 10
    async with contextlib.AsyncExitStack() as stack:
        sockets = await open_subscribers(stack, live_server, tokens)
        await until(lambda: runtime.events.subscriber_count == 30, "thirty subscribers to listen")
        executions, sends = delivery_counts()
        await announce(runtime, world, places, "North")
        texts = await asyncio.gather(*(receive_text(ws) for ws in sockets[:20]))
        assert delivery_counts() == (executions + 1, sends + 20)
        assert len(set(texts)) == 1, texts[:2]
        assert json.loads(texts[0])["payload"]["data"]["routerConnectionState"]["location"] == {"name": "North"}
        await announce(runtime, world, places, "North", "OFFLINE")  # B's next message would be A's first event
        await asyncio.gather(*(receive_text(ws) for ws in sockets[:20]))
        await asyncio.sleep(0.2)
        for ws in sockets[20:]:
            with contextlib.suppress(TimeoutError):
                leaked = await asyncio.wait_for(ws.recv(), 0.01)
                raise AssertionError(f"B's admin heard {leaked}")


async def test_a_selection_that_depends_on_the_subscriber_is_executed_for_each(live_server, world, runtime, gql):
    """`router { organisation }` has a resolver that answers per subscriber: A's admin sees A, an external user
    granted the location (a user of the platform organisation) sees null, though both get the same event."""
    places = await add_locations(runtime, world, {"North": "a"})
    async with runtime.session_factory() as session, session.begin():
        outsider = await add_user(session, world.organisations["b"], "guest@b.example", [m.Role.USER])
        await add_external_user(session, world.organisations["a"].id, outsider)
        outsider_token = await issue_token(session, outsider)
    given = await gql(
        ACCESS_SET,
        {"input": {"locationId": places.ids["North"], "userIds": [to_global_id("User", outsider.id)]}},
        token=world.tokens["admin_a"],
    )
    assert given["data"]["locationAccessSet"]["errors"] == [], given
    query = "subscription { routerConnectionState { router { commonName organisation { name } } } }"
    async with contextlib.AsyncExitStack() as stack:
        sockets = []
        for token in [world.tokens["admin_a"]] * 3 + [outsider_token] * 3:
            ws = await stack.enter_async_context(ws_connect(live_server))
            assert (await init(ws, token))["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "7", "type": "subscribe", "payload": {"query": query}}))
            sockets.append(ws)
        await until(lambda: runtime.events.subscriber_count == 6, "six subscribers to listen")
        executions, sends = delivery_counts()
        await announce(runtime, world, places, "North")
        messages = await asyncio.gather(*(receive(ws) for ws in sockets))
    assert delivery_counts() == (executions + 6, sends + 6)
    seen = [message["payload"]["data"]["routerConnectionState"]["router"] for message in messages]
    organisation = {"name": world.organisations["a"].name}
    assert (
        seen
        == [{"commonName": "R_ACC000", "organisation": organisation}] * 3
        + [{"commonName": "R_ACC000", "organisation": None}] * 3
    )
    assert {message["id"] for message in messages} == {"7"}


async def test_subscribers_whose_checked_rights_rule_an_event_out_are_not_even_woken(live_server, world, runtime, gql):
    """B's admins and a user of A without grants are handed A's event only until their rights are known (the
    first event loads their grants); after that only those who may see it are. A grant given later counts
    from the next event on: the rights change makes everyone's rights unknown again."""
    places = await add_locations(runtime, world, {"North": "a"})
    erika, erika_token = await plain_user(runtime, world, "erika@a.example")
    tokens = [world.tokens["admin_a"]] * 5 + [erika_token] * 5 + [world.tokens["admin_b"]] * 10
    async with contextlib.AsyncExitStack() as stack:
        sockets = await open_subscribers(stack, live_server, tokens)
        await until(lambda: runtime.events.subscriber_count == 20, "twenty subscribers to listen")
        handed = []
        for _ in range(2):
            before = runtime.events.handed_out
            await announce(runtime, world, places, "North")
            assert await asyncio.gather(*(next_router(ws) for ws in sockets[:5])) == [("R_ACC000", "North")] * 5
            handed.append(runtime.events.handed_out - before)
        assert handed == [20, 5]

        given = await gql(
            ACCESS_SET,
            {"input": {"locationId": places.ids["North"], "userIds": [erika]}},
            token=world.tokens["admin_a"],
        )
        assert given["data"]["locationAccessSet"]["errors"] == [], given
        await announce(runtime, world, places, "North", "OFFLINE")
        heard = await asyncio.gather(*(receive(ws) for ws in sockets[:10]))
        # Erika's five hear it, and it is the first thing they hear: nothing of the earlier ONLINE events
        assert [message["payload"]["data"]["routerConnectionState"]["kind"] for message in heard] == ["OFFLINE"] * 10
        for ws in sockets[10:]:
            with contextlib.suppress(TimeoutError):
                leaked = await asyncio.wait_for(ws.recv(), 0.05)
                raise AssertionError(f"B's admin heard {leaked}")
