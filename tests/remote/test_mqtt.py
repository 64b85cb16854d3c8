"""Router heartbeats over MQTT against the real Mosquitto at 127.0.0.1:1883 (and a private one for the
reconnect test). Every test uses its own topic root and share group, so parallel runs do not cross-talk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import subprocess
import uuid

import aiomqtt
import pytest
from sqlalchemy import select

from graph.app import create_app
from models import remote as r
from resolvers.remote.workers.mqtt import HeartbeatSubscriber, parse_url
from subscriptions import channels
from tests.environment import app_client, free_port
from tests.mqtt import BROKER, needs_broker, reachable
from tests.waiting import until

pytestmark = needs_broker


@contextlib.asynccontextmanager
async def subscriber(runtime, root: str, group: str | None = None, port: int = BROKER[1], **options):
    member = HeartbeatSubscriber(runtime, f"mqtt://127.0.0.1:{port}", root=root, group=group or root, **options)
    member.start()
    try:
        yield member
    finally:
        await member.stop()


async def publish(root: str, common_name: str, *payloads: bytes, port: int = BROKER[1]) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"test-router-{uuid.uuid4().hex[:8]}") as client:
        for payload in payloads:
            await client.publish(f"{root}/routers/{common_name}/heartbeat", payload, qos=1)


async def add_router(runtime, world, common_name: str) -> int:
    mac = ":".join(secrets.token_hex(6)[i : i + 2] for i in range(0, 12, 2)).upper()
    async with runtime.session_factory() as session, session.begin():
        router = r.Router(
            common_name=common_name,
            mac_address=mac,
            serial_number=f"SN-{common_name}",
            organisation_id=world.organisations["a"].id,
        )
        session.add(router)
        await session.flush()
        return router.id


async def samples(runtime, router_id: int) -> list[r.RouterStatusSample]:
    async with runtime.session_factory() as session:
        return list(
            (
                await session.scalars(
                    select(r.RouterStatusSample)
                    .where(r.RouterStatusSample.router_id == router_id)
                    .order_by(r.RouterStatusSample.id)
                )
            ).all()
        )


@contextlib.asynccontextmanager
async def tap(runtime):
    """Collect ROUTER_STATE events from the bus."""
    events: list[dict] = []

    async def listen():
        async for event in runtime.events.subscribe(channels.ROUTER_STATE):
            events.append(event.payload)

    before = runtime.events.subscriber_count
    task = asyncio.create_task(listen())
    await until(lambda: runtime.events.subscriber_count == before + 1, "the tap to listen")
    try:
        yield events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def root() -> str:
    return f"fgtest-{uuid.uuid4().hex[:12]}"


async def test_a_heartbeat_marks_the_router_online_records_the_sample_and_publishes_online(runtime, world):
    from graph.relay import to_global_id

    router_id = await add_router(runtime, world, "R_MQTT1")
    topic_root = root()
    async with subscriber(runtime, topic_root) as member, tap(runtime) as events:
        await until(lambda: member.state == "connected", "the subscription")
        await publish(
            topic_root,
            "r_mqtt1",  # common names are case-insensitive, as in the mutation
            b'{"cpuLoad": 12.5, "memoryUse": 40, "modemState": "LTE", "signalStrength": -71, "linkSpeed": 50}',
        )
        await until(lambda: member.recorded == 1, "the heartbeat to be recorded")
        await until(lambda: any(e["routerId"] == to_global_id("Router", router_id) for e in events), "the ONLINE event")
    [sample] = await samples(runtime, router_id)
    assert (sample.cpu_load, sample.memory_use, sample.modem_state, sample.signal_strength, sample.link_speed) == (
        12.5,
        40,
        "LTE",
        -71,
        50,
    )
    async with runtime.session_factory() as session:
        router = await session.get(r.Router, router_id)
    assert router.online and router.last_heartbeat_at is not None
    [event] = [e for e in events if e["routerId"] == to_global_id("Router", router_id)]
    assert (event["kind"], event["organisationPath"]) == ("ONLINE", world.organisations["a"].path)


async def test_bad_payloads_are_dropped_unlogged_and_the_loop_goes_on(runtime, world, caplog):
    router_id = await add_router(runtime, world, "R_MQTT2")
    topic_root = root()
    bad = [
        b"SECRET-not-json",
        b'["SECRET"]',
        b'{"cpuLoad": "SECRET"}',
        b'{"cpuLoad": 250}',
        b'{"cpuLoad": true}',
        b'{"signalStrength": 5}',
        b'{"modemState": 5}',
        b'{"modemState": "' + b"S" * 41 + b'"}',
        b"\xff\xfe SECRET",
        b"{" + b" " * 5000 + b"}",
    ]
    caplog.set_level(logging.WARNING, logger="fleetgraph.remote.mqtt")
    async with subscriber(runtime, topic_root) as member:
        await until(lambda: member.state == "connected", "the subscription")
        await publish(topic_root, "R_MQTT2", *bad, b'{"cpuLoad": 1}')
        await until(lambda: member.recorded == 1, "the good heartbeat after the bad ones")
        assert member.dropped == len(bad)
        assert member.state == "connected"
    assert [s.cpu_load for s in await samples(runtime, router_id)] == [1]
    dropped = [rec.getMessage() for rec in caplog.records if "dropped" in rec.getMessage()]
    assert len(dropped) == len(bad) and all(f"{topic_root}/routers/R_MQTT2/heartbeat" in line for line in dropped)
    assert not any("SECRET" in rec.getMessage() for rec in caplog.records)  # device input never reaches the log


async def test_an_unknown_router_or_a_wrong_topic_is_ignored(runtime, world):
    router_id = await add_router(runtime, world, "R_MQTT3")
    topic_root = root()
    async with subscriber(runtime, topic_root) as member:
        await until(lambda: member.state == "connected", "the subscription")
        await publish(topic_root, "R_NOBODY", b"{}")
        await publish(topic_root, "not a common name", b"{}")
        await publish(topic_root, "R_MQTT3", b"")  # a heartbeat without status
        await until(lambda: member.recorded == 1, "the known router's heartbeat")
        assert member.dropped == 2
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(r.RouterStatusSample.router_id))).all() == [router_id]
        assert (await session.get(r.Router, router_id)).online


async def test_a_router_of_another_tenant_is_recorded_for_that_tenant_only(runtime, world):
    """MQTT has no tenant context: the topic names the router, whichever organisation it belongs to."""
    router_id = await add_router(runtime, world, "R_MQTT4")
    async with runtime.session_factory() as session, session.begin():
        (await session.get(r.Router, router_id)).organisation_id = world.organisations["b"].id
    topic_root = root()
    async with subscriber(runtime, topic_root) as member:
        await until(lambda: member.state == "connected", "the subscription")
        await publish(topic_root, "R_MQTT4", b'{"cpuLoad": 3}')
        await until(lambda: member.recorded == 1, "the heartbeat")
    assert [s.cpu_load for s in await samples(runtime, router_id)] == [3]


async def test_two_members_of_the_shared_group_handle_each_message_once(runtime, world):
    router_id = await add_router(runtime, world, "R_MQTT5")
    topic_root = root()
    count = 12
    async with subscriber(runtime, topic_root) as one, subscriber(runtime, topic_root) as two:
        await until(lambda: one.state == two.state == "connected", "both members to subscribe")
        await publish(topic_root, "R_MQTT5", *(f'{{"cpuLoad": {n}}}'.encode() for n in range(count)))
        await until(lambda: one.recorded + two.recorded >= count, "every heartbeat to be recorded")
        await asyncio.sleep(0.5)  # a duplicate delivery would show up within this bounded grace time
        assert one.recorded + two.recorded == count
    assert sorted(s.cpu_load for s in await samples(runtime, router_id)) == list(range(count))


async def test_health_reports_the_state_and_a_lost_broker_is_reconnected(runtime, world, tmp_path):
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not shutil.which(mosquitto):
        pytest.skip("the mosquitto binary is needed to stop and restart a private broker")

    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")

    def broker() -> subprocess.Popen:
        return subprocess.Popen([mosquitto, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    router_id = await add_router(runtime, world, "R_MQTT6")
    topic_root = root()
    app = create_app(runtime.settings, runtime=runtime)
    process = broker()
    try:
        await until(lambda: reachable("127.0.0.1", port), "the private broker")
        async with (
            subscriber(runtime, topic_root, port=port, min_backoff=0.1, max_backoff=0.4) as member,
            app_client(app) as http,
        ):
            runtime.workers["mqtt"] = member  # what Runtime.start does when FLEETGRAPH_MQTT_URL is set
            try:
                await until(lambda: member.state == "connected", "the subscription")
                assert (await http.get("/health")).json()["mqtt"] == "connected"

                process.terminate()
                process.wait(10)
                await until(lambda: member.state == "reconnecting", "the loss to be noticed")
                health = await http.get("/health")
                # the API still serves without the broker: reported, not a failed readiness check
                assert (health.status_code, health.json()["mqtt"]) == (200, "reconnecting")
                assert health.json()["mqttConnections"] == {"mqtt": "reconnecting"}
                scraped = (await http.get("/metrics")).text
                assert 'fleetgraph_mqtt_state{state="reconnecting",worker="mqtt"} 1.0' in scraped

                process = broker()
                await until(lambda: member.state == "connected", "the reconnect", deadline=20)
                await publish(topic_root, "R_MQTT6", b'{"cpuLoad": 7}', port=port)
                await until(lambda: member.recorded == 1, "a heartbeat after the reconnect")
            finally:
                runtime.workers.pop("mqtt")
        off = await http_health_off(app)
        assert (off["mqtt"], off["mqttConnections"]) == ("off", {})
    finally:
        process.kill()
        process.wait(10)
    assert [s.cpu_load for s in await samples(runtime, router_id)] == [7]


async def http_health_off(app) -> dict:

    async with app_client(app) as http:
        return (await http.get("/health")).json()


def test_broker_urls():
    assert parse_url("mqtt://broker.example") == parse_url("mqtt://broker.example:1883")
    secure = parse_url("mqtts://fleet%40graph:p%3Ass@broker.example")
    assert (secure.port, secure.username, secure.password, secure.tls) == (8883, "fleet@graph", "p:ss", True)
    for bad in ("http://broker.example", "mqtt://", "broker.example:1883"):
        with pytest.raises(ValueError):
            parse_url(bad)
