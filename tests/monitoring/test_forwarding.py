"""Forwarding targets (CRUD, typed errors, sealed secrets, audit) and the POINTS_STORED handler that queues one
delivery per target per batch (selection, smart mode, idempotency, refused batches, bounded statements)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from graph.errors import DomainError
from graph.relay import to_global_id
from graph.secrets import Sealer, SecretError, reseal_all
from graph.workers import transaction
from models import forwarding as fw
from models.audit import AuditEvent
from resolvers.monitoring.delivery.engine import Adapters, DeliveryError, deliver_due
from resolvers.monitoring.errors import MonitoringErrorCode
from resolvers.monitoring.forwarding.enqueue import nanoseconds
from resolvers.monitoring.forwarding.platforms import device_sas_token, parse_connection_string, sas_token
from resolvers.monitoring.forwarding.sealing import open_secret
from resolvers.monitoring.hooks import POINTS_STORED
from resolvers.monitoring.key_rotation import FORWARDING_SECRETS
from tests.factories import add_location
from tests.monitoring.forwarding_helpers import CREATE, DELETE, DELIVERIES, T0, UPDATE, store_points

TOKEN = "influx-token-do-not-leak-0123456789"


@pytest.fixture
async def place(runtime, world):
    async with runtime.session_factory() as session, session.begin():
        location = await add_location(session, world.organisations["a"].id, "Plant A")
        other = await add_location(session, world.organisations["b"].id, "Plant B")
    return location, other


def influx_input(location_id: int, **extra) -> dict:
    return {
        "locationId": to_global_id("Location", location_id),
        "name": "Influx",
        "platform": "INFLUXDB",
        "values": [{"key": "temperature", "measurement": "climate"}, {"key": "pressure", "dataType": "INTEGER"}],
        "influxdb": {"url": "http://127.0.0.1:9/", "organisation": "acme", "bucket": "plant", "token": TOKEN},
        **extra,
    }


async def create(gql, world, input: dict, who: str = "admin_a") -> dict:
    return (await gql(CREATE, {"input": input}, world.tokens[who]))["data"]["forwardingTargetCreate"]


async def deliveries(runtime) -> list[fw.OutboundDelivery]:
    async with runtime.session_factory() as session:
        return list((await session.scalars(select(fw.OutboundDelivery).order_by(fw.OutboundDelivery.id))).all())


async def test_create_returns_the_target_without_its_secret_and_seals_it(runtime, gql, world, place, caplog):
    location, _ = place
    result = await create(gql, world, influx_input(location.id))
    assert result["errors"] == []
    target = result["forwardingTarget"]
    assert target["influxdb"] == {"url": "http://127.0.0.1:9", "organisation": "acme", "bucket": "plant"}
    assert target["values"] == [
        {"key": "temperature", "measurement": "climate", "dataType": "FLOAT", "ingestionId": None},
        {"key": "pressure", "measurement": "pressure", "dataType": "INTEGER", "ingestionId": None},
    ]
    assert target["secretSet"] and len(target["secretFingerprint"]) == 12
    assert target["location"] == {"name": "Plant A"}
    async with runtime.session_factory() as session:
        row = await session.scalar(select(fw.ForwardingTarget))
        assert TOKEN.encode() not in row.secret and TOKEN not in str(row.settings)
        assert open_secret(runtime.sealer, row.id, row.secret) == {"token": TOKEN}
        with pytest.raises(SecretError):  # bound to its target
            open_secret(runtime.sealer, row.id + 1, row.secret)
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "forwarding_target.created"))
        assert event is not None and TOKEN not in str(event.details)
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"values": []}, "REQUIRED", ["values"]),
        (
            {
                "platform": "BLOCKBAX",
                "influxdb": None,
                "blockbax": {"projectId": "p1", "inboundConnectorId": "c1", "token": "t"},
                "values": [],
            },
            "REQUIRED",
            ["values"],
        ),
        ({"platform": "BLOCKBAX"}, "INVALID", ["influxdb"]),
        (
            {"influxdb": {"url": "ftp://x", "organisation": "a", "bucket": "b", "token": "t"}},
            "INVALID",
            ["influxdb", "url"],
        ),
        ({"influxdb": {"url": "http://x", "organisation": "a", "bucket": "b"}}, "REQUIRED", ["influxdb", "token"]),
        ({"values": [{"key": "a"}, {"key": "a"}]}, "DUPLICATE", ["values", "1", "key"]),
        ({"smartIntervalSeconds": -1}, "INVALID", ["smartIntervalSeconds"]),
        ({"name": " "}, "REQUIRED", ["name"]),
    ],
)
async def test_bad_input_is_a_typed_error_and_changes_nothing(runtime, gql, world, place, change, code, field):
    location, _ = place
    result = await create(gql, world, influx_input(location.id, **change))
    assert result["forwardingTarget"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(fw.ForwardingTarget)) == 0


async def test_blockbax_needs_an_ingestion_id_per_value_and_platform_checks(gql, world, place):
    location, _ = place
    base = {"locationId": to_global_id("Location", location.id), "name": "B"}
    blockbax = {"projectId": "p1", "inboundConnectorId": "c1", "token": "t"}
    result = await create(gql, world, {**base, "platform": "BLOCKBAX", "values": [{"key": "t"}], "blockbax": blockbax})
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("REQUIRED", ["values", "0", "ingestionId"])]
    for connection in (
        "HostName=h;DeviceId=d;SharedAccessKey=not base64!",
        "HostName=evil.example/x;DeviceId=d;SharedAccessKey=a2V5",
        "HostName=h;DeviceId=d/#;SharedAccessKey=a2V5",
        "DeviceId=d;SharedAccessKey=a2V5",
    ):
        azure = {"connectionString": connection}
        result = await create(gql, world, {**base, "platform": "AZURE_IOT_HUB", "azureIotHub": azure})
        assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", ["azureIotHub", "connectionString"])]
    aws = {"endpoint": "x.iot", "clientId": "c", "topic": "t", "certificatePem": "nope", "privateKeyPem": "nope"}
    result = await create(gql, world, {**base, "platform": "AWS_IOT_CORE", "awsIotCore": aws})
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", ["awsIotCore", "certificatePem"])]


async def test_update_keeps_a_secret_left_out_and_delete_removes(runtime, gql, world, place):
    location, _ = place
    target = (await create(gql, world, influx_input(location.id)))["forwardingTarget"]
    settings = {"url": "http://127.0.0.1:8", "organisation": "acme", "bucket": "other"}
    result = (
        await gql(
            UPDATE,
            {"input": {"id": target["id"], "enabled": False, "smart": True, "influxdb": settings}},
            world.tokens["admin_a"],
        )
    )["data"]["forwardingTargetUpdate"]
    assert result["errors"] == []
    assert result["forwardingTarget"]["secretFingerprint"] == target["secretFingerprint"]
    assert (result["forwardingTarget"]["enabled"], result["forwardingTarget"]["smart"]) == (False, True)
    result = (
        await gql(
            UPDATE, {"input": {"id": target["id"], "influxdb": {**settings, "token": "new"}}}, world.tokens["admin_a"]
        )
    )["data"]["forwardingTargetUpdate"]
    assert result["forwardingTarget"]["secretFingerprint"] != target["secretFingerprint"]
    deleted = (await gql(DELETE, {"id": target["id"]}, world.tokens["admin_a"]))["data"]["forwardingTargetDelete"]
    assert deleted == {"deletedId": target["id"], "errors": []}
    async with runtime.session_factory() as session:
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert [a for a in actions if a.startswith("forwarding")] == [
        "forwarding_target.created",
        "forwarding_target.updated",
        "forwarding_target.updated",
        "forwarding_target.deleted",
    ]


AUDIT = """query($id: ID) { auditEvents(first: 10, filter: {locationId: $id}) { nodes { action } } }"""


async def test_target_changes_are_in_the_history_of_their_location(runtime, gql, world, place):
    location, _ = place
    async with runtime.session_factory() as session, session.begin():
        depot = await add_location(session, world.organisations["a"].id, "Depot A")
    target = (await create(gql, world, influx_input(location.id)))["forwardingTarget"]
    await gql(DELETE, {"id": target["id"]}, world.tokens["admin_a"])

    async def history(location_pk: int) -> list[str]:
        result = await gql(AUDIT, {"id": to_global_id("Location", location_pk)}, world.tokens["admin_a"])
        return [node["action"] for node in result["data"]["auditEvents"]["nodes"]]

    assert await history(location.id) == ["forwarding_target.deleted", "forwarding_target.created"]
    assert await history(depot.id) == []


async def test_another_tenants_location_and_target_read_like_unknown_ones(gql, world, place):
    location, other = place
    result = await create(gql, world, influx_input(other.id))
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", ["locationId"])]
    target = (await create(gql, world, influx_input(location.id)))["forwardingTarget"]
    deleted = (await gql(DELETE, {"id": target["id"]}, world.tokens["admin_b"]))["data"]["forwardingTargetDelete"]
    assert deleted["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}]
    listed = await gql("{ forwardingTargets { nodes { id } } }", token=world.tokens["admin_b"])
    assert listed["data"]["forwardingTargets"]["nodes"] == []
    history = await gql(DELIVERIES, {"id": target["id"]}, world.tokens["admin_b"])
    assert history["data"]["forwardingDeliveries"]["nodes"] == []
    # a plain user has no MONITORING_MANAGE
    denied = await gql("{ forwardingTargets { nodes { id } } }", token=world.tokens["user_a"])
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_batch_queues_one_delivery_per_enabled_target_with_its_chosen_keys(runtime, gql, world, place):
    location, _ = place
    organisation = world.organisations["a"].id
    influx = (await create(gql, world, influx_input(location.id)))["forwardingTarget"]
    aws_all = await create(gql, world, influx_input(location.id, name="Off", enabled=False))
    assert aws_all["errors"] == []
    await store_points(
        runtime, organisation, location.id, [("temperature", 0, 20.5), ("pressure", 0, 1013), ("humidity", 0, 40)]
    )
    [delivery] = await deliveries(runtime)
    assert delivery.kind == "forwarding.influxdb"
    assert to_global_id("ForwardingTarget", delivery.target_id) == influx["id"]
    points = delivery.payload["points"]
    assert sorted((p["key"], p["value"]) for p in points) == [("pressure", 1013), ("temperature", 20.5)]
    assert {p["key"]: p.get("measurement") for p in points} == {"temperature": "climate", "pressure": "pressure"}
    # the same batch stored again (a client retrying) queues nothing new
    await store_points(runtime, organisation, location.id, [("temperature", 0, 20.5), ("pressure", 0, 1013)])
    assert len(await deliveries(runtime)) == 1
    history = await gql(DELIVERIES, {"id": influx["id"]}, world.tokens["admin_a"])
    assert [n["state"] for n in history["data"]["forwardingDeliveries"]["nodes"]] == ["QUEUED"]


async def test_smart_mode_sends_only_changes_or_after_the_interval(runtime, gql, world, place):
    location, _ = place
    organisation = world.organisations["a"].id
    values = [{"key": "temperature"}]
    await create(gql, world, influx_input(location.id, smart=True, smartIntervalSeconds=0, values=values))
    await create(
        gql, world, influx_input(location.id, name="Every minute", smart=True, smartIntervalSeconds=60, values=values)
    )
    await store_points(runtime, organisation, location.id, [("temperature", 0, 20), ("temperature", 10, 20)])
    await store_points(runtime, organisation, location.id, [("temperature", 30, 20), ("temperature", 40, 21)])
    await store_points(runtime, organisation, location.id, [("temperature", 100, 21)])
    sent: dict[int, list[tuple[float, float]]] = {}
    for delivery in await deliveries(runtime):
        sent.setdefault(delivery.target_id, []).extend(
            ((p["at"] - nanoseconds(T0)) // 1_000_000_000, p["value"]) for p in delivery.payload["points"]
        )
    never_twice, every_minute = (sent[k] for k in sorted(sent))
    assert never_twice == [(0, 20), (40, 21)]
    assert every_minute == [(0, 20), (40, 21), (100, 21)]


async def test_a_refused_batch_forwards_nothing(runtime, gql, world, place):
    location, _ = place
    await create(gql, world, influx_input(location.id))

    async def refuse(session, points):
        raise DomainError(MonitoringErrorCode.INVALID, "refused by a later handler")

    POINTS_STORED.register(refuse)
    try:
        with pytest.raises(DomainError):
            await store_points(runtime, world.organisations["a"].id, location.id, [("temperature", 0, 1)])
    finally:
        POINTS_STORED._handlers.remove(refuse)
    assert await deliveries(runtime) == []


async def test_a_batch_costs_the_same_statements_whatever_its_size(runtime, gql, world, place, count_sql):
    location, _ = place
    organisation = world.organisations["a"].id
    await create(gql, world, influx_input(location.id, smart=True))
    await create(gql, world, influx_input(location.id, name="Second"))
    counts = []
    for size, offset in ((2, 0), (400, 1000)):
        stored = await store_points(
            runtime, organisation, location.id, [("temperature", offset + n, n) for n in range(size)]
        )
        async with transaction(runtime) as session:
            with count_sql() as counter:
                await POINTS_STORED(session, stored)
        counts.append(counter.count)
    assert counts[0] == counts[1] <= 4


def test_sas_token_matches_a_vector_computed_with_openssl():
    # printf 'myhub.azure-devices.net%2Fdevices%2Fdevice-1\n1700000000' | openssl dgst -sha256 -mac HMAC
    #   -macopt hexkey:<the key's bytes> -binary | base64
    key = "ZmxlZXRncmFwaC10ZXN0LWRldmljZS1rZXktMzJieXQ="
    assert sas_token("myhub.azure-devices.net/devices/device-1", key, 1700000000) == (
        "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdevice-1"
        "&sig=VG88RixiMfFsDk1O20kgewNLpCRe%2BYErlOktVKJ0SC4%3D&se=1700000000"
    )
    connection = f"HostName=myhub.azure-devices.net;DeviceId=device-1;SharedAccessKey={key}"
    assert parse_connection_string(connection)["DeviceId"] == "device-1"
    assert device_sas_token(connection, now=1700000000 - 3600).endswith("&se=1700000000")


async def test_rotate_master_key_reseals_target_secrets(runtime, gql, world, place):
    location, _ = place
    target = (await create(gql, world, influx_input(location.id)))["forwardingTarget"]
    sealer = Sealer(runtime.sealer.keyring.with_new_version())
    report = await reseal_all(runtime.session_factory, sealer, [FORWARDING_SECRETS])
    assert report.resealed == {"forwarding secrets": 1} and report.failed == []
    assert report.versions["forwarding secrets"] == {sealer.version: 1}
    async with runtime.session_factory() as session:
        row = await session.scalar(select(fw.ForwardingTarget))
    assert row.secret_version == sealer.version and row.secret_fingerprint == target["secretFingerprint"]
    assert open_secret(sealer, row.id, row.secret) == {"token": TOKEN}
    again = await reseal_all(runtime.session_factory, sealer, [FORWARDING_SECRETS])
    assert again.resealed == {"forwarding secrets": 0}


async def test_metrics_show_the_outbound_queue_by_kind_and_state(runtime, gql, world, place, client):
    location, _ = place
    await create(gql, world, influx_input(location.id))
    await store_points(runtime, world.organisations["a"].id, location.id, [("temperature", 0, 1)])
    response = await client.get("/metrics")
    samples = {
        (sample.labels.get("kind"), sample.labels.get("state")): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "fleetgraph_outbound_deliveries"
    }
    assert samples[("forwarding.influxdb", "QUEUED")] == 1
    assert samples[("forwarding.blockbax", "QUEUED")] == samples[("forwarding.influxdb", "FAILED")] == 0


RETRY = """
mutation ($input: ForwardingDeliveryRetryInput!) {
  forwardingDeliveryRetry(input: $input) { forwardingDelivery { state attempts lastError } errors { code field } }
}
"""


async def test_a_failed_delivery_can_be_queued_again_once(runtime, gql, world, place):
    location, _ = place
    target = (await create(gql, world, influx_input(location.id)))["forwardingTarget"]
    await store_points(runtime, world.organisations["a"].id, location.id, [("temperature", 0, 1)])

    async def refused(runtime, delivery):
        raise DeliveryError("InfluxDB answered 400: bad line", permanent=True)

    registry = Adapters()
    registry.register("forwarding.influxdb", refused)
    await deliver_due(runtime, adapters=registry)
    [delivery] = await deliveries(runtime)
    assert delivery.state == fw.DeliveryState.FAILED
    variables = {"input": {"targetId": target["id"], "idempotencyKey": delivery.idempotency_key}}
    retried = (await gql(RETRY, variables, world.tokens["admin_a"]))["data"]["forwardingDeliveryRetry"]
    assert retried == {
        "forwardingDelivery": {"state": "QUEUED", "attempts": 0, "lastError": "InfluxDB answered 400: bad line"},
        "errors": [],
    }
    again = (await gql(RETRY, variables, world.tokens["admin_a"]))["data"]["forwardingDeliveryRetry"]
    assert again["errors"] == [{"code": "NOT_FOUND", "field": ["idempotencyKey"]}]
    async with runtime.session_factory() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "forwarding_delivery.retried", AuditEvent.location_id == location.id)
            )
            == 1
        )
