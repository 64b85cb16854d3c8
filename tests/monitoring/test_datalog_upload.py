"""Save and upload, acknowledgements and discovery against the real Mosquitto at 127.0.0.1:1883: a test "router"
(aiomqtt) receives the configuration (secrets opened only in it), acknowledges it or not; duplicates and late
acknowledgements change nothing; the timer times out what stays unanswered; discovery waits for the answer, or
times out when the router stays silent. Each test uses its own topic root and share group."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from datetime import timedelta
from typing import Any

import aiomqtt
import pytest
from sqlalchemy import select, update

from graph.workers import transaction
from models import datalog as dl
from models import remote as r
from models.audit import AuditEvent
from models.base import utcnow
from resolvers.monitoring.datalog.schema import NOT_SENT
from resolvers.monitoring.datalog.simulated import answer
from resolvers.monitoring.datalog.upload import apply_ack, time_out_uploads
from resolvers.monitoring.workers.datalog_link import MqttRouterLink
from tests.burst import burst
from tests.environment import free_port
from tests.monitoring.datalog_helpers import (
    ACTIVATE,
    CREATE_DEVICE,
    DISCOVER,
    MODBUS,
    UPLOAD,
    call,
    codes,
    seed_site,
)
from tests.mqtt import BROKER, needs_broker
from tests.waiting import until

pytestmark = needs_broker


@contextlib.asynccontextmanager
async def router_link(runtime):
    root = f"fgtest{uuid.uuid4().hex[:8]}"
    link = MqttRouterLink(runtime, f"mqtt://{BROKER[0]}:{BROKER[1]}", root=root, group=root)
    link.start()
    try:
        await until(lambda: link.state == "connected", "the link to connect")
        yield link
    finally:
        await link.stop()


@contextlib.asynccontextmanager
async def router_client(
    root: str, common_name: str, *, ack: bool = True, answer_discovery: bool = True, discovery_reply: Any = None
):
    """A router: collects configurations, acknowledges them (ok) and answers discovery requests when told to:
    with the simulated router's result, or with what `discovery_reply(request)` says (ok, reason, result)."""
    received: list[dict] = []
    async with aiomqtt.Client(*BROKER, identifier=f"test-router-{uuid.uuid4().hex[:8]}") as client:
        await client.subscribe(f"{root}/routers/{common_name}/config", qos=1)
        await client.subscribe(f"{root}/routers/{common_name}/discovery", qos=1)

        async def serve() -> None:
            async for message in client.messages:
                document = json.loads(message.payload)
                received.append(document)
                if str(message.topic).endswith("/config") and ack:
                    reply = {"requestId": document["requestId"], "ok": True}
                    await client.publish(document["replyTo"], json.dumps(reply), qos=1)
                elif str(message.topic).endswith("/discovery") and answer_discovery:
                    found = discovery_reply(document) if discovery_reply else {"ok": True, "result": answer(document)}
                    reply = {"requestId": document["requestId"], **found}
                    await client.publish(document["replyTo"], json.dumps(reply), qos=1)

        task = asyncio.create_task(serve())
        try:
            yield client, received
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def state(runtime, site) -> dl.MonitoredLocation:
    async with runtime.session_factory() as session:
        return await session.get(dl.MonitoredLocation, site["location_pk"])


async def monitored_with_opc_ua(gql, world, runtime, site, upload: bool) -> dict:
    await call(gql, ACTIVATE, "dataMonitoringActivate", {"locationId": site["location"]}, world.tokens["admin_a"])
    given = {
        "locationDeviceId": site["device"],
        "name": "OPC",
        "settings": {"opcUa": {"endpointUrl": "opc.tcp://192.168.1.10:4840", "password": "Opc-Secret-1"}},
        "variables": [{"key": "temp", "unit": "°C", "opcUa": {"nodeId": "ns=2;s=T"}}],
        "upload": upload,
    }
    return await call(gql, CREATE_DEVICE, "datalogDeviceCreate", given, world.tokens["admin_a"])


async def test_save_and_upload_is_applied_by_the_routers_acknowledgement(gql, world, runtime, caplog):
    site = await seed_site(runtime, world)
    async with router_link(runtime) as link, router_client(link.root, site["common_name"]) as (_, received):
        saved = await monitored_with_opc_ua(gql, world, runtime, site, upload=True)
        assert saved["errors"] == [] and saved["monitoredLocation"] == {"configurationState": "PENDING"}
        await until(lambda: link.applied == 1, "the acknowledgement")
    row = await state(runtime, site)
    assert row.config_state is dl.ConfigState.APPLIED and row.config_applied_at is not None
    config = received[0]
    assert config["requestId"] == row.config_request_id
    assert config["replyTo"] == f"{link.root}/routers/{site['common_name']}/config/ack"
    device = config["devices"][0]
    assert (device["protocol"], device["secrets"], device["variables"][0]["key"]) == (
        "OPC_UA",
        {"password": "Opc-Secret-1"},
        "temp",
    )
    assert "Opc-Secret-1" not in caplog.text
    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.location_id == site["location_pk"]).order_by(AuditEvent.id)
            )
        ).all()
    assert actions == ["datalog.activated", "datalog.device_created", "datalog.uploaded", "datalog.applied"]


async def test_duplicate_late_and_foreign_acknowledgements_change_nothing(gql, world, runtime):
    site = await seed_site(runtime, world)
    other = await seed_site(runtime, world, n=1)
    async with router_link(runtime) as link, router_client(link.root, site["common_name"], ack=False) as (client, got):
        await monitored_with_opc_ua(gql, world, runtime, site, upload=True)
        await until(lambda: len(got) == 1, "the configuration")
        request_id = got[0]["requestId"]
        # another router acknowledging this upload: not its own, nothing changes
        forged = {"requestId": request_id, "ok": True}
        await client.publish(f"{link.root}/routers/{other['common_name']}/config/ack", json.dumps(forged), qos=1)
        await client.publish(f"{link.root}/routers/{site['common_name']}/config/ack", b"not json", qos=1)
        await until(lambda: link.dropped == 1, "the bad message")
        refused = {"requestId": request_id, "ok": False, "reason": "register 40001 unreadable"}
        for _ in range(3):  # the first applies; the duplicates find it no longer PENDING
            await client.publish(got[0]["replyTo"], json.dumps(refused), qos=1)
        late = {"requestId": request_id, "ok": True}
        await client.publish(got[0]["replyTo"], json.dumps(late), qos=1)
        await until(lambda: link.applied == 1, "the refusal")
        await asyncio.sleep(0.3)  # room for the duplicates to arrive (and change nothing)
    row = await state(runtime, site)
    assert (row.config_state, row.config_reason) == (dl.ConfigState.FAILED, "register 40001 unreadable")
    assert link.applied == 1


async def test_eight_parallel_acknowledgements_apply_once(gql, world, runtime):
    """Replicas receiving the same acknowledgement at once (a QoS 1 redelivery): one conditional UPDATE decides."""
    site = await seed_site(runtime, world)
    await monitored_with_opc_ua(gql, world, runtime, site, upload=False)
    async with transaction(runtime) as session:
        await session.execute(
            update(dl.MonitoredLocation)
            .where(dl.MonitoredLocation.location_id == site["location_pk"])
            .values(config_state=dl.ConfigState.PENDING, config_request_id="request-8")
        )

    async def acknowledge(_: int) -> bool:
        async with transaction(runtime) as session:
            return await apply_ack(session, site["common_name"], "request-8", True, "")

    assert sorted(await burst(runtime, 8, acknowledge)) == [False] * 7 + [True]
    assert (await state(runtime, site)).config_state is dl.ConfigState.APPLIED
    async with runtime.session_factory() as session:
        actions = (await session.scalars(select(AuditEvent.action).where(AuditEvent.action == "datalog.applied"))).all()
    assert actions == ["datalog.applied"]


async def test_an_unanswered_upload_times_out(gql, world, runtime):
    site = await seed_site(runtime, world)
    async with router_link(runtime) as link, router_client(link.root, site["common_name"], ack=False) as (_, got):
        await monitored_with_opc_ua(gql, world, runtime, site, upload=True)
        await until(lambda: len(got) == 1, "the configuration")
    async with transaction(runtime) as session:
        assert await time_out_uploads(session, 60) == 0  # not yet
        await session.execute(update(dl.MonitoredLocation).values(config_sent_at=utcnow() - timedelta(seconds=61)))
    async with transaction(runtime) as session:
        assert await time_out_uploads(session, 60) == 1
    async with transaction(runtime) as session:
        assert await time_out_uploads(session, 60) == 0
    row = await state(runtime, site)
    assert (row.config_state, row.config_reason) == (dl.ConfigState.TIMED_OUT, "No acknowledgement within 60 s.")


async def test_upload_is_refused_without_a_link_or_an_online_router(gql, world, runtime):
    site = await seed_site(runtime, world, online=False)
    await monitored_with_opc_ua(gql, world, runtime, site, upload=False)
    no_link = await call(gql, UPLOAD, "dataMonitoringUpload", {"locationId": site["location"]}, world.tokens["admin_a"])
    assert codes(no_link) == [("ROUTER_OFFLINE", ["locationId"])]
    async with router_link(runtime):
        offline = await call(
            gql, UPLOAD, "dataMonitoringUpload", {"locationId": site["location"]}, world.tokens["admin_a"]
        )
        assert codes(offline) == [("ROUTER_OFFLINE", ["locationId"])]
    assert (await state(runtime, site)).config_state is None


def bacnet_scan(site: dict) -> dict:
    bacnet = {"serverIp": "192.168.1.30", "deviceInstance": 1}
    return {"locationId": site["location"], "action": "BACNET_SCAN", "settings": {"bacnet": bacnet}}


MALFORMED = "The router's answer is malformed."


async def test_discovery_waits_for_the_routers_answer(gql, world, runtime):
    site = await seed_site(runtime, world)
    browse = {"locationId": site["location"], "action": "OPC_UA_BROWSE", "nodeId": "ns=2;s=Pump1",
              "settings": {"opcUa": {"endpointUrl": "opc.tcp://192.168.1.10:4840"}}}  # fmt: skip
    ups = {"name": "ups", "version": "V2C", "community": "public", "baseOid": "1.3.6.1.2.1.1"}
    walk = {"locationId": site["location"], "action": "SNMP_WALK",
            "settings": {"snmp": {"server": "10.0.0.5", "devices": [ups]}}}  # fmt: skip
    read = {"locationId": site["location"], "action": "MODBUS_READ", "register": 10, "count": 3, "settings": MODBUS}
    async with router_link(runtime) as link, router_client(link.root, site["common_name"]) as (_, got):
        found = await call(gql, DISCOVER, "datalogDiscover", browse, world.tokens["admin_a"])
        assert found["errors"] == []
        assert [n["nodeId"] for n in found["result"]["nodes"]] == [
            "ns=2;s=Pump1.Temperature",
            "ns=2;s=Pump1.Pressure",
            "ns=2;s=Pump1.Flow",
        ]
        walked = await call(gql, DISCOVER, "datalogDiscover", walk, world.tokens["admin_a"])
        assert walked["result"]["varbinds"][0]["oid"] == "1.3.6.1.2.1.1.1.0"
        values = await call(gql, DISCOVER, "datalogDiscover", read, world.tokens["admin_a"])
        assert [v["register"] for v in values["result"]["registers"]] == [10, 11, 12]
        wrong = await call(gql, DISCOVER, "datalogDiscover", {**read, "action": "SNMP_WALK"}, world.tokens["admin_a"])
        assert codes(wrong) == [("INVALID", ["action"])]
        scanned = await call(gql, DISCOVER, "datalogDiscover", bacnet_scan(site), world.tokens["admin_a"])
        assert scanned["errors"] == []
        assert scanned["result"]["devices"] == [{"deviceInstance": 1001, "address": "192.168.1.30", "name": "AHU-1"}]
        assert scanned["result"]["objects"] == [] and scanned["result"]["nodes"] == []
        epics = {**bacnet_scan(site), "action": "BACNET_EPICS", "deviceInstance": 1001}
        objects = await call(gql, DISCOVER, "datalogDiscover", epics, world.tokens["admin_a"])
        assert objects["errors"] == [] and objects["result"]["devices"] == []
        assert objects["result"]["objects"] == [
            {"objectType": "analog-input", "instance": 1, "presentValue": "21.5"},
            {"objectType": "binary-output", "instance": 3, "presentValue": "active"},
        ]
    assert got[1]["secrets"] == {"devices": {"ups": {"community": "public"}}}
    assert got[0]["replyTo"] == link.reply_topic
    assert [(g["action"], g["params"]) for g in got[3:]] == [
        ("BACNET_SCAN", {}),
        ("BACNET_EPICS", {"deviceInstance": 1001}),
    ]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ({"ok": False, "reason": "BACnet device 1 does not answer"}, "BACnet device 1 does not answer"),
        ({"ok": False}, "The router could not do it."),
        ({"ok": True, "result": {"devices": [{"deviceInstance": "one", "name": "AHU-1"}]}}, MALFORMED),
        ({"ok": True, "result": ["not", "an", "object"]}, MALFORMED),
        ({"ok": True}, MALFORMED),
    ],
)
async def test_a_failed_or_malformed_discovery_answer_is_a_typed_error(gql, world, runtime, reply, reason):
    """The router's answer is device input: its refusal keeps its reason, a malformed result is ROUTER_FAILED."""
    site = await seed_site(runtime, world)
    given = bacnet_scan(site)
    async with (
        router_link(runtime) as link,
        router_client(link.root, site["common_name"], discovery_reply=lambda _: reply) as (_, got),
    ):
        failed = await call(gql, DISCOVER, "datalogDiscover", given, world.tokens["admin_a"])
    assert failed["result"] is None
    assert [(e["code"], e["field"], e["message"]) for e in failed["errors"]] == [("ROUTER_FAILED", ["action"], reason)]
    assert len(got) == 1


async def test_discovery_with_a_saved_device_uses_its_saved_secrets(gql, world, runtime):
    """Browsing again from a saved device: the password saved with it goes to the router without being typed."""
    site = await seed_site(runtime, world)
    saved = await monitored_with_opc_ua(gql, world, runtime, site, upload=False)
    browse = {
        "locationId": site["location"],
        "action": "OPC_UA_BROWSE",
        "settings": {"opcUa": {"endpointUrl": "opc.tcp://192.168.1.10:4840"}},
        "datalogDeviceId": saved["datalogDevice"]["id"],
    }
    modbus_saved = {**browse, "action": "MODBUS_READ", "settings": MODBUS}
    async with router_link(runtime) as link, router_client(link.root, site["common_name"]) as (_, got):
        found = await call(gql, DISCOVER, "datalogDiscover", browse, world.tokens["admin_a"])
        assert found["errors"] == [] and found["result"]["nodes"]
        other = await call(gql, DISCOVER, "datalogDiscover", modbus_saved, world.tokens["admin_a"])
        assert codes(other) == [("INVALID", ["datalogDeviceId"])]
        foreign = await call(gql, DISCOVER, "datalogDiscover", browse, world.tokens["admin_b"])
        assert codes(foreign) == [("NOT_FOUND", ["locationId"])]
    assert len(got) == 1 and got[0]["secrets"] == {"password": "Opc-Secret-1"}


async def test_discovery_times_out_when_the_router_stays_silent(gql, world, runtime):
    site = await seed_site(runtime, world)
    settings = runtime.settings
    runtime.settings = dataclasses.replace(settings, datalog_discovery_timeout_seconds=0.5)
    try:
        given = {"locationId": site["location"], "action": "BACNET_SCAN",
                 "settings": {"bacnet": {"serverIp": "192.168.1.30", "deviceInstance": 1}}}  # fmt: skip
        async with router_link(runtime) as link, router_client(link.root, site["common_name"], answer_discovery=False):
            silent = await call(gql, DISCOVER, "datalogDiscover", given, world.tokens["admin_a"])
    finally:
        runtime.settings = settings
    assert codes(silent) == [("TIMED_OUT", ["locationId"])] and silent["result"] is None
    async with transaction(runtime) as session:
        await session.execute(update(r.Router).values(online=False))
    offline = await call(gql, DISCOVER, "datalogDiscover", given, world.tokens["admin_a"])
    assert codes(offline) == [("ROUTER_OFFLINE", ["locationId"])]


async def test_an_upload_the_broker_does_not_take_fails_at_once(gql, world, runtime):
    site = await seed_site(runtime, world)
    link = MqttRouterLink(runtime, f"mqtt://127.0.0.1:{free_port()}", min_backoff=5)  # nobody listens there
    link.start()
    try:
        saved = await monitored_with_opc_ua(gql, world, runtime, site, upload=True)
    finally:
        await link.stop()
    assert saved["monitoredLocation"] == {"configurationState": "FAILED"}
    row = await state(runtime, site)
    assert (row.config_state, row.config_reason) == (dl.ConfigState.FAILED, NOT_SENT)


async def test_acknowledgements_go_to_one_member_of_the_shared_subscription(gql, world, runtime):
    """Two server processes' links in one group: whichever gets the acknowledgement applies it, once."""
    site = await seed_site(runtime, world)
    async with router_link(runtime) as first:
        second = MqttRouterLink(runtime, f"mqtt://{BROKER[0]}:{BROKER[1]}", root=first.root, group=first.root)
        second.start()  # the upload goes out through the first (the runtime's link)
        try:
            await until(lambda: second.state == "connected", "the second link")
            async with router_client(first.root, site["common_name"]) as (client, got):
                await monitored_with_opc_ua(gql, world, runtime, site, upload=True)
                await until(lambda: first.applied + second.applied == 1, "the acknowledgement")
                for _ in range(3):  # the router repeats itself: whichever member gets it, nothing changes
                    ack = {"requestId": got[0]["requestId"], "ok": True}
                    await client.publish(got[0]["replyTo"], json.dumps(ack), qos=1)
                await asyncio.sleep(0.3)
        finally:
            await second.stop()
    assert first.applied + second.applied == 1
    assert (await state(runtime, site)).config_state is dl.ConfigState.APPLIED
