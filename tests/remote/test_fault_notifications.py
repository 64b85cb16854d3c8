"""Notification profiles on faults and standstill (issue 18): the status report carries a fault and a standstill
flag (GraphQL and MQTT), each profile chooses its events, and a mail goes out once per transition (a fault
appears or clears, a standstill starts or ends), never twice, through a real SMTP server."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiomqtt
from sqlalchemy import select

from graph.relay import to_global_id
from models import remote as r
from models.base import utcnow
from models.mail import OutboxMessage, TemplateType
from resolvers.mail.workers.delivery import deliver_due
from resolvers.remote.workers.conditions import condition_changes, notify_condition_changes, send
from resolvers.remote.workers.mqtt import BadHeartbeat, HeartbeatSubscriber, parse_status
from tests.burst import Overlap
from tests.factories import add_location, add_router, snapshot
from tests.mqtt import BROKER, needs_broker
from tests.remote.helpers import api_user_token
from tests.smtp import smtp_server, smtp_settings
from tests.waiting import until

CREATE = """mutation($input: NotificationProfileCreateInput!) {
  notificationProfileCreate(input: $input) { notificationProfile { id events } errors { code field } } }"""
UPDATE = """mutation($input: NotificationProfileUpdateInput!) {
  notificationProfileUpdate(input: $input) { notificationProfile { events } errors { code field } } }"""
REPORT = """mutation($input: RouterHeartbeatInput!) {
  routerHeartbeat(input: $input) { status { fault { code message } standstill } errors { code field message } } }"""


async def seed(runtime, world) -> dict[str, str]:
    async with runtime.session_factory() as session, session.begin():
        router = await add_router(session, world.organisations["a"].id, "R_PRESS1", "00:00:00:00:0A:01", "SN-P1")
        quiet = await add_router(session, world.organisations["a"].id, "R_PRESS2", "00:00:00:00:0A:02", "SN-P2")
        hall = await add_location(session, world.organisations["a"].id, "Press hall", router.id)
        other = await add_location(session, world.organisations["a"].id, "Store", quiet.id)
    return {"hall": to_global_id("Location", hall.id), "store": to_global_id("Location", other.id)}


async def profile(gql, world, events, location: str, **given) -> str:
    result = await gql(
        CREATE,
        {
            "input": {
                "name": given.pop("name", "Shift"),
                "offlineMinutes": 30,
                "events": events,
                "emails": ["ops@example.org"],
                "locationIds": [location],
                **given,
            }
        },
        token=world.tokens["admin_a"],
    )
    payload = result["data"]["notificationProfileCreate"]
    assert payload["errors"] == [], payload
    return payload["notificationProfile"]["id"]


async def report(gql, token: str, common_name: str = "R_PRESS1", **status) -> dict:
    result = await gql(REPORT, {"input": {"commonName": common_name, "status": status}}, token=token)
    return result["data"]["routerHeartbeat"]


async def notify(runtime) -> int:
    return await notify_condition_changes(runtime.session_factory, utcnow(), public_url="https://portal.example")


async def outbox(runtime) -> list[tuple[str, str]]:
    async with runtime.session_factory() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.template_type == TemplateType.ROUTER_CONDITION)
                .order_by(OutboxMessage.id)
            )
        ).all()
    return [(row.to_address, row.subject) for row in rows]


async def test_the_status_report_carries_a_fault_and_standstill(gql, runtime, world):
    token = await api_user_token(runtime, world, "a", "reporter@a.example")
    await seed(runtime, world)
    sent = await report(gql, token, fault={"code": " E42 ", "message": "Motor overload"}, standstill=True)
    assert sent == {"status": {"fault": {"code": "E42", "message": "Motor overload"}, "standstill": True}, "errors": []}
    assert (await report(gql, token))["status"] == {"fault": None, "standstill": None}
    before = await snapshot(runtime)
    for status, field in (
        ({"fault": {"code": "", "message": "no code"}}, ["status", "fault", "code"]),
        ({"fault": {"code": "x" * 41}}, ["status", "fault", "code"]),
        ({"fault": {"code": "E1", "message": "two\nlines"}}, ["status", "fault", "message"]),
    ):
        refused = await report(gql, token, **status)
        assert refused["status"] is None and [e["field"] for e in refused["errors"]] == [field]
    assert await snapshot(runtime) == before
    # MQTT: the same fields in the JSON payload
    parsed = parse_status(json.dumps({"fault": {"code": "E7", "message": "Door open"}, "standstill": False}).encode())
    assert (parsed.fault_code, parsed.fault_message, parsed.standstill) == ("E7", "Door open", False)
    for bad in ({"fault": "E7"}, {"fault": {"message": "x"}}, {"standstill": "yes"}):
        try:
            parse_status(json.dumps(bad).encode())
        except BadHeartbeat:
            continue
        raise AssertionError(bad)


async def test_each_profile_chooses_its_events(gql, runtime, world):
    ids = await seed(runtime, world)
    made = await gql(
        CREATE,
        {"input": {"name": "None", "offlineMinutes": 5, "events": [], "locationIds": [ids["hall"]]}},
        token=world.tokens["admin_a"],
    )
    assert made["data"]["notificationProfileCreate"]["errors"] == [{"code": "REQUIRED", "field": ["events"]}]
    default = await gql(CREATE, {"input": {"name": "Default", "offlineMinutes": 5}}, token=world.tokens["admin_a"])
    assert default["data"]["notificationProfileCreate"]["notificationProfile"]["events"] == ["OFFLINE"]
    profile_id = default["data"]["notificationProfileCreate"]["notificationProfile"]["id"]
    updated = await gql(
        UPDATE, {"input": {"id": profile_id, "events": ["STANDSTILL", "FAULT"]}}, token=world.tokens["admin_a"]
    )
    assert updated["data"]["notificationProfileUpdate"]["notificationProfile"]["events"] == ["FAULT", "STANDSTILL"]


async def test_one_mail_per_transition(gql, runtime, world):
    token = await api_user_token(runtime, world, "a", "reporter@a.example")
    ids = await seed(runtime, world)
    await profile(gql, world, ["FAULT", "STANDSTILL"], ids["hall"])
    await profile(gql, world, ["OFFLINE"], ids["hall"], name="Offline only")
    await profile(gql, world, ["FAULT"], ids["store"], name="Store faults")
    await report(gql, token)  # running, no fault: nothing to tell
    assert await notify(runtime) == 0
    await report(gql, token, fault={"code": "E42", "message": "Motor overload"})
    assert await notify(runtime) == 1
    assert await notify(runtime) == 0  # told already
    await report(gql, token, fault={"code": "E42", "message": "Motor overload"})
    assert await notify(runtime) == 0  # the same fault again is no transition
    await report(gql, token, fault={"code": "E42"}, standstill=True)
    assert await notify(runtime) == 1  # the standstill started; the fault is still E42
    await report(gql, token, standstill=True)
    assert await notify(runtime) == 1  # the fault cleared
    await report(gql, token, standstill=False)
    assert await notify(runtime) == 1  # running again
    assert [subject for _, subject in await outbox(runtime)] == [
        "Fault at Press hall",
        "Standstill at Press hall",
        "Fault cleared at Press hall",
        "Running again at Press hall",
    ]


async def test_never_sent_twice_by_parallel_rounds(gql, runtime, world):
    token = await api_user_token(runtime, world, "a", "reporter@a.example")
    ids = await seed(runtime, world)
    await profile(gql, world, ["FAULT"], ids["hall"])
    await report(gql, token, fault={"code": "E1"})
    now = utcnow()
    async with runtime.session_factory() as session:
        (change,) = await condition_changes(session, now)

    async def one_round() -> int:
        async with runtime.session_factory() as session, session.begin():
            return await send(session, change, now, "")

    with Overlap(runtime) as overlap:
        assert sorted(await asyncio.gather(*(one_round() for _ in range(8)))) == [0] * 7 + [1]
    assert overlap.most >= 2  # they raced
    assert len(await outbox(runtime)) == 1


async def test_delivered_to_a_real_smtp_server(gql, runtime, world):
    token = await api_user_token(runtime, world, "a", "reporter@a.example")
    ids = await seed(runtime, world)
    await profile(gql, world, ["FAULT"], ids["hall"], userIds=[world.id("User", "user_a")])
    await report(gql, token, fault={"code": "E42", "message": "Motor overload"})
    assert await notify(runtime) == 2
    with smtp_server() as (controller, collector):
        settings = smtp_settings(runtime, controller.port)
        assert await deliver_due(runtime, settings=settings) == 2
    received = {message["To"]: message for message in collector.messages}
    assert set(received) == {"user@a.example", "ops@example.org"}
    text = received["user@a.example"].get_body(("plain",)).get_content()
    assert "the router R_PRESS1 at Press hall (Tenant A) reports a fault" in text
    assert "E42: Motor overload" in text and f"https://portal.example/locations/{ids['hall']}" in text
    async with runtime.session_factory() as session:
        row = await session.scalar(select(r.ConditionNotification))
    assert (row.kind, row.state) == (r.ConditionKind.FAULT, "E42")


@needs_broker
async def test_a_fault_reported_over_mqtt_is_mailed(gql, runtime, world):
    """The router's MQTT heartbeat (a real broker) carries the fault; the mail follows as for GraphQL."""
    ids = await seed(runtime, world)
    await profile(gql, world, ["FAULT", "STANDSTILL"], ids["hall"])
    root = f"fgtest-{uuid.uuid4().hex[:12]}"
    member = HeartbeatSubscriber(runtime, f"mqtt://127.0.0.1:{BROKER[1]}", root=root, group=root)
    member.start()
    try:
        await until(lambda: member.state == "connected", "the subscription")
        async with aiomqtt.Client("127.0.0.1", BROKER[1], identifier=f"test-router-{uuid.uuid4().hex[:8]}") as client:
            payload = {"cpuLoad": 20, "fault": {"code": "E17", "message": "Motor overload"}, "standstill": True}
            await client.publish(f"{root}/routers/R_PRESS1/heartbeat", json.dumps(payload).encode(), qos=1)
        await until(lambda: member.recorded == 1, "the heartbeat to be recorded")
    finally:
        await member.stop()
    async with runtime.session_factory() as session:
        sample = await session.scalar(select(r.RouterStatusSample))
    assert (sample.fault_code, sample.fault_message, sample.standstill) == ("E17", "Motor overload", True)
    assert await notify(runtime) == 2
    assert sorted(subject for _, subject in await outbox(runtime)) == [
        "Fault at Press hall",
        "Standstill at Press hall",
    ]
