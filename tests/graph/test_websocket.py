"""Subscriptions over real websockets (the `websockets` client against uvicorn): authentication in
the connection-init payload, tenant isolation of audit events, both protocols, cleanup after an
abrupt drop, and events that go out only after a commit."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from graph.app import create_app
from graph.auth import authenticate
from graph.context import Context
from graph.errors import DomainError
from graph.mutations import run_in_transaction
from graph.relay import to_global_id
from graph.runtime import Runtime
from models import identity as m
from resolvers.audit import rules as audit
from subscriptions import channels
from tests.environment import free_port, make_settings
from tests.factories import add_organisation, add_user, issue_token
from tests.waiting import DEADLINE, until
from tests.websocket import AUDIT_SUBSCRIPTION, create_user, http_gql, init, receive, subscribe, ws_connect


async def closed_with(ws: ClientConnection) -> int:
    """The close code the server ended the connection with."""
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), DEADLINE)
    assert closed.value.rcvd is not None, "the server did not send a close frame"
    return closed.value.rcvd.code


async def test_connection_init_with_bearer_token_is_acked(live_server, world):
    async with ws_connect(live_server) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        ack = await init(ws, world.tokens["admin_a"])
        assert ack == {"type": "connection_ack", "payload": {"user": "admin@a.example"}}


async def test_bad_or_expired_token_is_rejected_at_connection_init(live_server, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        expired = await issue_token(session, world.users["admin_a"], ttl=-60)
    for token in ["fg_not-a-token", expired]:
        async with ws_connect(live_server) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
            assert await closed_with(ws) == 4403, token


async def test_audit_events_reach_admins_of_their_tenant_only(live_server, world, runtime):
    async with ws_connect(live_server) as ws_a, ws_connect(live_server) as ws_b:
        await subscribe(ws_a, world.tokens["admin_a"])
        await subscribe(ws_b, world.tokens["admin_b"])
        await until(lambda: runtime.events.subscriber_count == 2, "both subscriptions to listen")

        created = await create_user(live_server, world.tokens["admin_a"], "new@a.example")
        assert created["errors"] == [], created
        message = await receive(ws_a)
        assert message["type"] == "next" and message["id"] == "1", message
        event = message["payload"]["data"]["auditEventRecorded"]
        assert event["action"] == "user.created"
        assert event["actor"] == "admin@a.example"
        assert event["organisation"] == {"name": "Tenant A"}
        assert event["details"]["email"] == "new@a.example"

        # B's admin, subscribed all along, hears of B's event as the very first thing: nothing of A's came.
        created = await create_user(live_server, world.tokens["admin_b"], "new@b.example")
        assert created["errors"] == [], created
        message = await receive(ws_b)
        event = message["payload"]["data"]["auditEventRecorded"]
        assert (event["action"], event["actor"], event["organisation"]) == (
            "user.created",
            "admin@b.example",
            {"name": "Tenant B"},
        )
        assert event["details"]["email"] == "new@b.example"

        # And A's admin did not get B's event: the next thing A hears is A's own logout.
        await http_gql(live_server, "mutation { logout(input: {}) { errors { code } } }", {}, world.tokens["user_a"])
        message = await receive(ws_a)
        event = message["payload"]["data"]["auditEventRecorded"]
        assert (event["action"], event["actor"], event["organisation"]) == (
            "user.logout",
            "user@a.example",
            {"name": "Tenant A"},
        )


async def test_admin_hears_events_of_child_organisations(live_server, world, runtime):
    async with ws_connect(live_server) as ws:
        await subscribe(ws, world.tokens["admin_a"])
        await until(lambda: runtime.events.subscriber_count == 1, "the subscription to listen")
        await http_gql(live_server, "mutation { logout(input: {}) { errors { code } } }", {}, world.tokens["user_a1"])
        event = (await receive(ws))["payload"]["data"]["auditEventRecorded"]
        assert (event["action"], event["actor"], event["organisation"]) == (
            "user.logout",
            "user@a1.example",
            {"name": "Tenant A1"},
        )


@pytest.mark.parametrize(("key", "code"), [("user_a", "FORBIDDEN"), (None, "UNAUTHENTICATED")])
async def test_subscribing_without_audit_permission_is_refused(live_server, world, runtime, key, code):
    async with ws_connect(live_server) as ws:
        ack = await init(ws, world.tokens[key] if key else None)
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps({"id": "s1", "type": "subscribe", "payload": {"query": AUDIT_SUBSCRIPTION}}))
        message = await receive(ws)
        assert message["id"] == "s1", message
        assert message["type"] == "error", message
        assert [error["extensions"]["code"] for error in message["payload"]] == [code], message
        assert runtime.events.subscriber_count == 0


async def test_legacy_graphql_ws_protocol_with_auth(live_server, world, runtime):
    async with ws_connect(live_server, "graphql-ws") as ws:
        assert ws.subprotocol == "graphql-ws"
        ack = await init(ws, world.tokens["admin_a"])
        assert ack == {"type": "connection_ack", "payload": {"user": "admin@a.example"}}
        await ws.send(json.dumps({"id": "7", "type": "start", "payload": {"query": AUDIT_SUBSCRIPTION}}))
        await until(lambda: runtime.events.subscriber_count == 1, "the subscription to listen")

        await create_user(live_server, world.tokens["admin_a"], "legacy@a.example")
        message = await receive(ws)
        assert message["type"] == "data" and message["id"] == "7", message
        event = message["payload"]["data"]["auditEventRecorded"]
        assert (event["action"], event["organisation"]) == ("user.created", {"name": "Tenant A"})

        await ws.send(json.dumps({"id": "7", "type": "stop"}))
        await until(lambda: runtime.events.subscriber_count == 0, "the stopped subscription to be gone")


async def test_legacy_graphql_ws_protocol_rejects_a_bad_token(live_server, world):
    async with ws_connect(live_server, "graphql-ws") as ws:
        message = await init(ws, "fg_not-a-token")
        assert message["type"] == "connection_error", message
        await closed_with(ws)


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_abruptly_dropped_websocket_leaves_no_subscriber(live_server, world, runtime, protocol):
    ws = await ws_connect(live_server, protocol)
    try:
        ack = await init(ws, world.tokens["admin_a"])
        assert ack["type"] == "connection_ack"
        start = "subscribe" if protocol == "graphql-transport-ws" else "start"
        for operation_id in ("1", "2"):
            await ws.send(json.dumps({"id": operation_id, "type": start, "payload": {"query": AUDIT_SUBSCRIPTION}}))
        await until(lambda: runtime.events.subscriber_count == 2, "both subscriptions to listen")
    finally:
        # Close the TCP connection without a close frame, as a vanished client does.
        ws.transport.abort()
    await until(lambda: runtime.events.subscriber_count == 0, "the server to drop the dead connection's subscribers")

    # The bus still serves new subscribers afterwards.
    async with ws_connect(live_server) as again:
        await subscribe(again, world.tokens["admin_a"])
        await until(lambda: runtime.events.subscriber_count == 1, "the new subscription to listen")
        await create_user(live_server, world.tokens["admin_a"], "after-drop@a.example")
        event = (await receive(again))["payload"]["data"]["auditEventRecorded"]
        assert event["details"]["email"] == "after-drop@a.example"


async def test_events_are_published_only_after_commit(live_server, world, runtime):
    # What goes over the bus itself: the subscription resolver would also drop an event whose row
    # is not there, which would hide an event published for rolled-back work.
    published: list[dict] = []

    async def tap():
        async for message in runtime.bus.subscribe(runtime.events.channel, on_listening=tap_listening.set):
            published.extend(payload for _, channel, payload in message["events"] if channel == channels.AUDIT)

    tap_listening = asyncio.Event()
    tapping = asyncio.create_task(tap())
    await asyncio.wait_for(tap_listening.wait(), DEADLINE)
    async with ws_connect(live_server) as ws:
        await subscribe(ws, world.tokens["admin_a"])
        await until(lambda: runtime.events.subscriber_count == 1, "the subscription to listen")

        # Refused over HTTP: the new user row was already flushed when the weak password was refused.
        refused = await create_user(live_server, world.tokens["admin_a"], "weak@a.example", password="password")
        assert refused["user"] is None and refused["errors"][0]["code"] == "WEAK_PASSWORD", refused

        # Refused after an audit event was recorded in the transaction: the event is rolled back
        # with everything else and must not be published.
        principal, problem = await authenticate(runtime.session_factory, world.tokens["admin_a"])
        assert principal is not None, problem
        context = Context(runtime, principal=principal, client_address="127.0.0.1")

        async def record_then_refuse(session):
            await audit.record(session, context, "test.refused", organisation_id=world.organisations["a"].id)
            raise DomainError("NOT_ALLOWED", "refused after recording")

        result = await run_in_transaction(context, record_then_refuse)
        assert isinstance(result, DomainError)

        # The next thing the subscriber hears is the committed mutation, nothing of the refused ones.
        created = await create_user(live_server, world.tokens["admin_a"], "committed@a.example")
        assert created["errors"] == [], created
        event = (await receive(ws))["payload"]["data"]["auditEventRecorded"]
        assert (event["action"], event["details"]["email"]) == ("user.created", "committed@a.example")
    await until(lambda: published, "the tap to see the committed event")
    tapping.cancel()
    await asyncio.gather(tapping, return_exceptions=True)
    assert len(published) == 1, published

    # Nothing of the refused work was stored either.
    events = await http_gql(
        live_server, "{ auditEvents(first: 50) { nodes { action details } } }", {}, world.tokens["admin_a"]
    )
    actions = [(node["action"], node["details"].get("email")) for node in events["auditEvents"]["nodes"]]
    assert ("test.refused", None) not in actions
    assert ("user.created", "weak@a.example") not in actions
    assert ("user.created", "committed@a.example") in actions


class _BrokenEvent:
    """Put into the memory backend's queue: reading it fails as a lost connection would."""

    @property
    def channel(self) -> str:
        raise ConnectionError("the memory backend lost its connection")


@pytest.fixture
async def own_server(tmp_path):
    """A server with a runtime (and event bus) of its own, which a test may break."""
    runtime = Runtime(make_settings(tmp_path, database_url="", broadcast_url="memory://"))
    runtime.bus.reconnect_initial = (
        3600.0  # a broken bus stays away while the test looks (it reconnects by itself later)
    )
    await runtime.start(auto_migrate=True)
    async with runtime.session_factory() as session, session.begin():
        organisation = await add_organisation(session, "Tenant A")
        token = await issue_token(
            session, await add_user(session, organisation, "admin@a.example", [m.Role.ORGANISATION_ADMIN])
        )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime.settings, runtime=runtime),
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            ws="websockets",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started, "uvicorn to start")
        yield runtime, f"127.0.0.1:{port}", token
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, DEADLINE)
        await runtime.stop()


async def test_subscriptions_outlive_a_bus_failure_and_miss_nothing(own_server):
    """The bus dies and stays away: subscriptions stay open, events come from the event log, health says
    degraded (still serving), and a new subscription works meanwhile."""
    runtime, address, token = own_server
    async with ws_connect(address) as ws:
        await subscribe(ws, token)
        await until(lambda: runtime.events.subscriber_count == 1, "the subscription to listen")

        runtime.bus._broadcast._backend._published.put_nowait(_BrokenEvent())
        await until(lambda: not runtime.bus.healthy, "the bus to fail")

        created = await create_user(address, token, "while-away@a.example")
        assert created["errors"] == [], created
        message = await receive(ws)
        assert message["type"] == "next" and message["id"] == "1", message
        event = message["payload"]["data"]["auditEventRecorded"]
        assert (event["action"], event["details"]["email"]) == ("user.created", "while-away@a.example")

        # A new subscription is taken while the bus is away, and hears the next event too.
        await ws.send(json.dumps({"id": "2", "type": "subscribe", "payload": {"query": AUDIT_SUBSCRIPTION}}))
        await until(lambda: runtime.events.subscriber_count == 2, "the second subscription to listen")
        await create_user(address, token, "second@a.example")
        heard = {
            (message["id"], message["payload"]["data"]["auditEventRecorded"]["details"]["email"])
            for message in [await receive(ws), await receive(ws)]
        }
        assert heard == {("1", "second@a.example"), ("2", "second@a.example")}

        async with httpx.AsyncClient(base_url=f"http://{address}", timeout=DEADLINE) as http:
            health = await http.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded" and health.json()["checks"]["eventBus"] == "degraded"
    assert runtime.bus.healthy is False, "the bus stayed away throughout (the log carried the events)"


async def test_subscription_ends_when_its_session_is_logged_out(live_server, world, runtime):
    """The websocket keeps no login of its own: after logout the next event ends the subscription."""
    async with ws_connect(live_server) as ws:
        await subscribe(ws, world.tokens["admin_a"])
        await until(lambda: runtime.events.subscriber_count == 1, "the subscription to listen")
        await http_gql(live_server, "mutation { logout(input: {}) { errors { code } } }", {}, world.tokens["admin_a"])
        # The logout's own audit event is the first event after it: it is refused, then the stream ends.
        message = await receive(ws)
        assert message["type"] == "next" and message["payload"]["data"] is None, message
        [error] = message["payload"]["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED" and "revoked" in error["message"]
        assert (await receive(ws))["type"] == "complete"
        await until(lambda: runtime.events.subscriber_count == 0, "the subscription to end")


async def test_websocket_operations_follow_the_persisted_query_allow_list(runtime, world, tmp_path):
    """With an allow-list, a websocket must not become the way around it (both protocols)."""
    import dataclasses
    import hashlib

    listed = "subscription Listed { auditEventRecorded { action } }"
    digest = hashlib.sha256(listed.encode()).hexdigest()
    allow_list = tmp_path / "persisted.json"
    allow_list.write_text(json.dumps({digest: listed}))
    settings = dataclasses.replace(
        runtime.settings, persisted_queries_only=True, persisted_queries_file=str(allow_list)
    )
    app = create_app(settings, runtime=runtime)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", ws="websockets-sansio")
    )
    task = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started, "the allow-list server to start")
        address = f"127.0.0.1:{port}"
        token = world.tokens["admin_a"]
        async with ws_connect(address) as ws:
            await subscribe(ws, token, "1", AUDIT_SUBSCRIPTION)  # not on the list
            refused = await receive(ws)
            assert (
                refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
            )
            await ws.send(
                json.dumps(
                    {
                        "id": "2",
                        "type": "subscribe",
                        "payload": {
                            "query": None,
                            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
                        },
                    }
                )
            )
            await until(lambda: runtime.events.subscriber_count == 1, "the listed subscription to listen")
        async with ws_connect(address, "graphql-ws") as ws:
            assert (await init(ws, token))["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "start", "payload": {"query": AUDIT_SUBSCRIPTION}}))
            refused = await receive(ws)
            assert refused["type"] == "error" and refused["payload"]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def errors_of(message: dict) -> list[dict]:
    """The errors of a refused subscription, whether refused at its start or from its stream."""
    return message["payload"] if message["type"] == "error" else message["payload"]["errors"]


async def test_a_subscription_ends_when_its_token_expires_with_no_event_needed(live_server, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        short = await issue_token(session, world.users["admin_a"], ttl=2)
    async with ws_connect(live_server) as ws:
        await subscribe(ws, short)
        await until(lambda: runtime.events.subscriber_count == 1, "the subscription to listen")
        message = await receive(ws)  # nothing happens meanwhile: the token's end alone ends the stream
        [error] = errors_of(message)
        assert error["extensions"]["code"] == "UNAUTHENTICATED" and "expired" in error["message"], message
        assert (await receive(ws))["type"] == "complete"
        await until(lambda: runtime.events.subscriber_count == 0, "the subscription to end")


async def test_subscriptions_are_limited_per_connection_and_per_user(live_server, world, runtime, monkeypatch):
    monkeypatch.setattr(runtime.events, "max_per_connection", 2)
    monkeypatch.setattr(runtime.events, "max_per_user", 3)
    token = world.tokens["admin_a"]

    async def start(ws, operation_id: str) -> None:
        payload = {"query": AUDIT_SUBSCRIPTION}
        await ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))

    async def refused(ws, operation_id: str, limit: str) -> None:
        message = await receive(ws)
        assert message["id"] == operation_id, message
        [error] = errors_of(message)
        assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS" and limit in error["message"], message
        if message["type"] == "next":  # an error from the stream is followed by the operation's end
            assert await receive(ws) == {"id": operation_id, "type": "complete"}

    async with ws_connect(live_server) as first, ws_connect(live_server) as second:
        for ws in (first, second):
            assert (await init(ws, token))["type"] == "connection_ack"
        await start(first, "1")
        await start(first, "2")
        await until(lambda: runtime.events.subscriber_count == 2, "two subscriptions to listen")
        await start(first, "3")
        await refused(first, "3", "per connection")

        await start(second, "1")  # the user's third
        await until(lambda: runtime.events.subscriber_count == 3, "the third subscription to listen")
        await start(second, "2")
        await refused(second, "2", "per user")

        # Ending one makes room again.
        await first.send(json.dumps({"id": "1", "type": "complete"}))
        await until(lambda: runtime.events.subscriber_count == 2, "the ended subscription to be gone")
        await start(second, "3")
        await until(lambda: runtime.events.subscriber_count == 3, "the new subscription to listen")
        created = await create_user(live_server, token, "heard@a.example")
        assert created["errors"] == [], created
        heard = [
            (ws is first, message["id"], message["type"])
            for ws in (first, second, second)
            for message in [await receive(ws)]
        ]
        assert sorted(heard) == [(False, "1", "next"), (False, "3", "next"), (True, "2", "next")], heard


async def test_a_deactivation_ends_the_users_subscriptions_with_no_event_needed(live_server, world, runtime):
    """The commit that deactivates a user changes rights: every subscription checks again at once, and the
    user's ends there, though no event of its channel comes (the other admin's stays)."""
    async with runtime.session_factory() as session, session.begin():
        leaving = await add_user(session, world.organisations["a"], "leaving@a.example", [m.Role.ORGANISATION_ADMIN])
        token = await issue_token(session, leaving)
    state = "subscription { routerConnectionState { kind } }"
    async with ws_connect(live_server) as ws, ws_connect(live_server) as staying:
        for socket, bearer in ((ws, token), (staying, world.tokens["admin_a"])):
            assert (await init(socket, bearer))["type"] == "connection_ack"
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": state}}))
        await until(lambda: runtime.events.subscriber_count == 2, "both subscriptions to listen")
        deactivate = "mutation($input: UserIdInput!) { userDeactivate(input: $input) { errors { code } } }"
        done = await http_gql(
            live_server, deactivate, {"input": {"id": to_global_id("User", leaving.id)}}, world.tokens["admin_a"]
        )
        assert done["userDeactivate"]["errors"] == [], done
        [error] = errors_of(await receive(ws))
        assert error["extensions"]["code"] == "UNAUTHENTICATED", error  # its tokens are revoked with it
        assert (await receive(ws))["type"] == "complete"
        await until(lambda: runtime.events.subscriber_count == 1, "only the deactivated user's subscription to end")
