"""The event log and the live stream: events written with their commit and only then, resuming from a cursor
over a real websocket (no gap, no duplicate at the seam), the retention horizon, a slow subscriber dropped
with its cursor, and events that reach subscribers from the log when nobody publishes them."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from graph.context import Context
from graph.db import create_session_factory
from graph.workers import transaction
from models import audit as audit_models
from models.base import utcnow
from resolvers.audit import rules as audit
from subscriptions import channels
from subscriptions import log as event_log
from subscriptions.bus import SlowSubscriber
from tests.factories import PASSWORD
from tests.waiting import DEADLINE, until
from tests.websocket import init, receive, ws_connect

RESUMABLE = "subscription($after: String) { auditEventRecorded(after: $after) { cursor action details } }"


def system_context(runtime) -> Context:
    return Context(runtime, client_address="127.0.0.1")


async def record(runtime, world, count: int, action: str = "test.event") -> None:
    """`count` audit events of Tenant A, one commit each (numbered in details.n)."""
    for n in range(count):
        async with transaction(runtime) as session:
            await audit.record(
                session,
                system_context(runtime),
                action,
                organisation_id=world.organisations["a"].id,
                details={"n": n},
            )


async def newest(runtime) -> int:
    async with runtime.session_factory() as session:
        return await event_log.newest_cursor(session)


async def subscribe_after(ws, token: str, after: str | None, operation_id: str = "1") -> None:
    ack = await init(ws, token)
    assert ack["type"] == "connection_ack", ack
    payload = {"query": RESUMABLE, "variables": {"after": after}}
    await ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))


async def next_event(ws) -> dict:
    message = await receive(ws)
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]["auditEventRecorded"]


async def test_events_are_written_with_the_commit_and_never_for_a_rollback(runtime, world):
    before = await newest(runtime)

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with transaction(runtime) as session:
            await audit.record(session, system_context(runtime), "test.rolled_back", organisation_id=None)
            raise Refused
    assert await newest(runtime) == before

    await record(runtime, world, 2)
    async with runtime.session_factory() as session:
        logged = await event_log.read_after(session, before)
    assert [(event.channel, event.cursor > before) for event in logged] == [(channels.AUDIT, True)] * 2
    assert logged[0].cursor < logged[1].cursor


async def test_a_subscriber_resumes_after_its_cursor_with_no_gap_and_no_duplicate(live_server, world, runtime):
    token = world.tokens["admin_a"]
    async with ws_connect(live_server) as ws:
        await subscribe_after(ws, token, None)
        await until(lambda: runtime.events.subscriber_count == 1, "the subscription to listen")
        await record(runtime, world, 1, "test.first")
        first = await next_event(ws)
    assert first["action"] == "test.first" and first["cursor"]
    await until(lambda: runtime.events.subscriber_count == 0, "the first subscription to end")

    await record(runtime, world, 10, "test.missed")  # nobody listens

    async with ws_connect(live_server) as ws:
        await subscribe_after(ws, token, first["cursor"])
        replayed = [await next_event(ws) for _ in range(10)]
        assert [(event["action"], event["details"]["n"]) for event in replayed] == [
            ("test.missed", n) for n in range(10)
        ]
        cursors = [int(event["cursor"]) for event in replayed]
        assert cursors == sorted(set(cursors)) and cursors[0] > int(first["cursor"])
        # then live, continuing the same sequence
        await record(runtime, world, 1, "test.live")
        live = await next_event(ws)
        assert live["action"] == "test.live" and int(live["cursor"]) > cursors[-1]


async def test_a_cursor_beyond_retention_is_refused_and_a_bad_one_is_bad_input(live_server, world, runtime):
    await record(runtime, world, 2)
    old = await newest(runtime) - 1
    async with runtime.session_factory() as session, session.begin():
        await event_log.prune(session, utcnow() + timedelta(seconds=1))  # as if a day had passed
    await record(runtime, world, 1, "test.after_prune")
    token = world.tokens["admin_a"]
    for after, code in [(str(old), "CURSOR_EXPIRED"), ("not-a-cursor", "BAD_USER_INPUT"), ("-1", "BAD_USER_INPUT")]:
        async with ws_connect(live_server) as ws:
            await subscribe_after(ws, token, after)
            message = await receive(ws)
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert [error["extensions"]["code"] for error in errors] == [code], message
    # the newest cursor is within retention: resuming from it works
    async with ws_connect(live_server) as ws:
        await subscribe_after(ws, token, str(await newest(runtime) - 1))
        assert (await next_event(ws))["action"] == "test.after_prune"


async def test_a_slow_subscriber_is_dropped_with_its_cursor_and_can_resume(runtime, world, monkeypatch):
    monkeypatch.setattr(runtime.events, "max_queue", 3)
    stream = runtime.events.subscribe(channels.AUDIT)
    first = asyncio.ensure_future(stream.__anext__())
    await until(lambda: runtime.events.subscriber_count == 1, "the subscriber to listen")
    await record(runtime, world, 1, "test.first")
    delivered = [(await asyncio.wait_for(first, DEADLINE)).cursor]
    # The subscriber reads nothing now: three events queue up, the fourth finds the queue full.
    await record(runtime, world, 6)
    with pytest.raises(SlowSubscriber) as dropped:
        while True:
            delivered.append((await asyncio.wait_for(stream.__anext__(), DEADLINE)).cursor)
    assert len(delivered) == 4
    assert dropped.value.extensions == {"code": "SLOW_SUBSCRIBER", "cursor": str(delivered[-1])}
    await until(lambda: runtime.events.subscriber_count == 0, "the dropped subscriber to be gone")

    resumed = runtime.events.subscribe(channels.AUDIT, after=int(dropped.value.extensions["cursor"]))
    rest = [(await asyncio.wait_for(resumed.__anext__(), DEADLINE)).payload for _ in range(3)]
    await resumed.aclose()
    assert await details_n(runtime, rest) == [3, 4, 5]


async def details_n(runtime, payloads: list[dict]) -> list[int]:
    async with runtime.session_factory() as session:
        rows = [await session.get(audit_models.AuditEvent, payload["id"]) for payload in payloads]
    return [row.details["n"] for row in rows if row is not None]


async def test_an_event_nobody_publishes_still_reaches_subscribers_from_the_log(runtime, world):
    """A commit whose session has no publisher (as after a lost bus message): the stream reads it from the log."""
    stream = runtime.events.subscribe(channels.AUDIT)
    received = asyncio.ensure_future(stream.__anext__())
    await until(lambda: runtime.events.subscriber_count == 1, "the subscriber to listen")
    unpublished = create_session_factory(runtime.engine)
    async with unpublished() as session, session.begin():
        await audit.record(session, system_context(runtime), "test.unpublished", organisation_id=None)
    event = await asyncio.wait_for(received, DEADLINE)
    await stream.aclose()
    async with runtime.session_factory() as session:
        row = await session.get(audit_models.AuditEvent, event.payload["id"])
    assert row is not None and row.action == "test.unpublished"


async def test_only_a_change_of_rights_makes_subscribers_check_again(runtime, world, gql):
    """A login adds tokens: nobody's rights change, so no rights event. A logout revokes one: a rights event,
    so every subscription checks its token again."""
    await runtime.events.catch_up()  # the world's own rights events (its roles), whichever way they come
    start = runtime.events.rights_epoch
    query = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
    login = await gql(query, {"input": {"email": "admin@a.example", "password": PASSWORD}})
    token = login["data"]["login"]["accessToken"]
    assert token, login
    await runtime.events.catch_up()
    assert runtime.events.rights_epoch == start
    logout = await gql("mutation { logout(input: {}) { errors { code } } }", token=token)
    assert logout["data"]["logout"]["errors"] == [], logout
    await runtime.events.catch_up()
    assert runtime.events.rights_epoch == start + 1
