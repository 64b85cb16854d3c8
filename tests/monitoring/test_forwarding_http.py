"""Forwarding to InfluxDB and Blockbax against local HTTP receivers (Starlette on uvicorn at 127.0.0.1) that model
the platforms: a point with the same series and timestamp overwrites. They fail (500), time out (answer after the
client gave up, having stored the batch) and recover; every point ends up stored exactly once, the repeats carry the
same Idempotency-Key, and the delivery history shows what happened."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.relay import to_global_id
from models import forwarding as fw
from models.base import utcnow
from resolvers.monitoring.delivery.engine import claim, deliver_due
from resolvers.monitoring.forwarding.adapters.http import send_influxdb
from tests.environment import serve_app
from tests.factories import add_location
from tests.monitoring.forwarding_helpers import CREATE, DELIVERIES, store_points

TOKEN = "secret-token-0123456789"
TIMEOUT = 2.0


@dataclass
class Platform:
    """A receiver: `script` says how to answer the next requests ("fail", "slow", then "ok" for ever)."""

    script: list[str] = field(default_factory=list)
    #: What the platform holds: one value per series and time (a rewrite overwrites).
    stored: dict[tuple, float] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def answer(self, authorised: bool, key: str, write) -> Response:
        if not authorised:
            self.refused.append(key)
            return Response(status_code=401)
        self.keys.append(key)
        mode = self.script.pop(0) if self.script else "ok"
        if mode == "fail":
            return Response("internal error", status_code=500)
        if mode == "slow":
            await asyncio.sleep(TIMEOUT * 3)  # the client gave up long ago; the write still happens
        write()
        return Response(status_code=204)


def influx_app(platform: Platform) -> Starlette:
    async def write(request: Request) -> Response:
        body = (await request.body()).decode()
        params = request.query_params
        authorised = request.headers.get("authorization") == f"Token {TOKEN}" and (
            params.get("org"),
            params.get("bucket"),
            params.get("precision"),
        ) == ("acme", "plant", "ns")

        def store() -> None:
            for line in body.splitlines():
                series, fields, timestamp = line.split(" ")
                name, value = fields.split("=")
                platform.stored[(series, name, int(timestamp))] = float(value.rstrip("i"))

        return await platform.answer(authorised, request.headers.get("idempotency-key", ""), store)

    return Starlette(routes=[Route("/api/v2/write", write, methods=["POST"])])


def blockbax_app(platform: Platform) -> Starlette:
    async def measurements(request: Request) -> Response:
        body = json.loads(await request.body())
        authorised = request.headers.get("authorization") == f"ApiKey {TOKEN}"

        def store() -> None:
            for series in body["series"]:
                for measurement in series["measurements"]:
                    platform.stored[(series["ingestionId"], measurement["date"])] = measurement["number"]

        return await platform.answer(authorised, request.headers.get("idempotency-key", ""), store)

    path = "/v1/projects/project-1/inboundConnectors/connector-1/requests"
    return Starlette(routes=[Route(path, measurements, methods=["POST"])])


@pytest.fixture
async def location(runtime, world):
    async with runtime.session_factory() as session, session.begin():
        return await add_location(session, world.organisations["a"].id, "Plant A")


async def deliver_everything(runtime) -> int:
    """Delivery rounds, each after making the retries due (instead of sleeping through the backoff); bounded."""
    settings = replace(runtime.settings, delivery_timeout_seconds=TIMEOUT)
    rounds = 0
    while rounds < 20:
        rounds += 1
        await deliver_due(runtime, settings=settings)
        async with runtime.session_factory() as session, session.begin():
            await session.execute(
                update(fw.OutboundDelivery)
                .where(fw.OutboundDelivery.state == fw.DeliveryState.QUEUED)
                .values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
            waiting = (
                await session.scalars(
                    select(fw.OutboundDelivery.id).where(fw.OutboundDelivery.state == fw.DeliveryState.QUEUED)
                )
            ).all()
        if not waiting:
            return rounds
    raise AssertionError("deliveries still queued after 20 rounds")


async def create_influx(gql, world, location, url: str, token: str = TOKEN, values: list | None = None) -> dict:
    """An InfluxDB target of the location at the receiver `url`, made through the API."""
    created = await gql(
        CREATE,
        {
            "input": {
                "locationId": to_global_id("Location", location.id),
                "name": "Influx",
                "platform": "INFLUXDB",
                "values": values or [{"key": "temperature"}],
                "influxdb": {"url": url, "organisation": "acme", "bucket": "plant", "token": token},
            }
        },
        world.tokens["admin_a"],
    )
    payload = created["data"]["forwardingTargetCreate"]
    assert payload["errors"] == []
    return payload["forwardingTarget"]


BATCHES = [[("temperature", b * 10 + n, 20.0 + b + n / 10) for n in range(10)] for b in range(4)]


async def test_influxdb_fails_times_out_recovers_and_holds_every_point_once(runtime, gql, world, location):
    platform = Platform(script=["fail", "slow", "fail"])
    async with serve_app(influx_app(platform)) as url:
        values = [{"key": "temperature", "measurement": "climate"}, {"key": "count", "dataType": "INTEGER"}]
        target = await create_influx(gql, world, location, url, values=values)
        for batch in BATCHES:
            await store_points(runtime, world.organisations["a"].id, location.id, [*batch, ("count", batch[0][1], 3)])
        await deliver_everything(runtime)
        await asyncio.sleep(TIMEOUT * 3)  # the slow answer's write lands

    expected = {p[1] for batch in BATCHES for p in batch}
    temperatures = {k: v for k, v in platform.stored.items() if k[1] == "temperature"}
    assert len(temperatures) == len(expected) == 40
    assert {(k[0], v) for k, v in temperatures.items()} == {
        (f"climate,location={location.id}", v) for v in temperatures.values()
    }
    assert sorted(temperatures.values()) == sorted(p[2] for batch in BATCHES for p in batch)
    assert sorted(v for k, v in platform.stored.items() if k[1] == "count") == [3, 3, 3, 3]
    # four deliveries; the failed and the timed-out ones came again with their own key
    assert len(set(platform.keys)) == 4 and len(platform.keys) == 7
    repeated = {key for key in platform.keys if platform.keys.count(key) > 1}
    assert len(repeated) >= 1 and platform.refused == []

    history = await gql(DELIVERIES, {"id": target["id"], "first": 10}, world.tokens["admin_a"])
    nodes = history["data"]["forwardingDeliveries"]["nodes"]
    assert [n["state"] for n in nodes] == ["DELIVERED"] * 4
    assert sum(n["attempts"] for n in nodes) == 7
    assert sum(len(n["attemptHistory"]) for n in nodes) == 7
    retried = next(n for n in nodes if n["attempts"] > 1)
    assert retried["attemptHistory"][0] == {"status": "delivered", "error": None}  # newest first
    assert {a["status"] for a in retried["attemptHistory"][1:]} == {"failed"}
    async with runtime.session_factory() as session:
        errors = (
            await session.scalars(select(fw.OutboundAttempt.error).where(fw.OutboundAttempt.status == "failed"))
        ).all()
    assert sorted(errors)[:2] == ["InfluxDB answered 500: internal error"] * 2
    assert len(errors) == 3 and "within 2 s" in sorted(errors)[2]
    assert not any(TOKEN in error for error in errors)


async def test_blockbax_fails_times_out_recovers_and_holds_every_point_once(runtime, gql, world, location, caplog):
    platform = Platform(script=["slow", "fail"])
    async with serve_app(blockbax_app(platform)) as url:
        created = await gql(
            CREATE,
            {
                "input": {
                    "locationId": to_global_id("Location", location.id),
                    "name": "Blockbax",
                    "platform": "BLOCKBAX",
                    "values": [{"key": "temperature", "ingestionId": "plant-a$temperature"}],
                    "blockbax": {
                        "url": url,
                        "projectId": "project-1",
                        "inboundConnectorId": "connector-1",
                        "token": TOKEN,
                    },
                }
            },
            world.tokens["admin_a"],
        )
        assert created["data"]["forwardingTargetCreate"]["errors"] == []
        for batch in BATCHES:
            await store_points(runtime, world.organisations["a"].id, location.id, batch)
        await deliver_everything(runtime)
        await asyncio.sleep(TIMEOUT * 3)

    assert len(platform.stored) == 40
    assert {k[0] for k in platform.stored} == {"plant-a$temperature"}
    assert sorted(platform.stored.values()) == sorted(p[2] for batch in BATCHES for p in batch)
    assert len(set(platform.keys)) == 4 and len(platform.keys) == 6
    assert TOKEN not in caplog.text


async def test_a_wrong_token_is_retried_not_lost_and_a_deleted_target_fails_for_good(runtime, gql, world, location):
    platform = Platform()
    async with serve_app(influx_app(platform)) as url:
        target = await create_influx(gql, world, location, url, token="wrong")
        await store_points(runtime, world.organisations["a"].id, location.id, BATCHES[0])
        await deliver_due(runtime)
        assert len(platform.refused) == 1 and platform.stored == {}
        history = await gql(DELIVERIES, {"id": target["id"]}, world.tokens["admin_a"])
        [node] = history["data"]["forwardingDeliveries"]["nodes"]
        assert (node["state"], node["lastError"]) == ("QUEUED", "InfluxDB answered 401: ")
        deleted = await gql(
            "mutation ($id: ID!) { forwardingTargetDelete(input: {id: $id}) { deletedId } }",
            {"id": target["id"]},
            world.tokens["admin_a"],
        )
        assert deleted["data"]["forwardingTargetDelete"]["deletedId"] == target["id"]
        await deliver_everything(runtime)
    async with runtime.session_factory() as session:
        row = await session.scalar(select(fw.OutboundDelivery))
    assert (row.state, row.last_error) == (fw.DeliveryState.FAILED, "The forwarding target was deleted.")


async def test_a_worker_that_stops_after_sending_leaves_a_lease_and_the_next_one_repeats_the_key(
    runtime, gql, world, location
):
    """Exactly once across worker restarts: the first worker sends, the platform stores, the worker dies before it
    records; after the lease the next worker sends again with the same key and the platform holds the points once."""
    platform = Platform()
    async with serve_app(influx_app(platform)) as url:
        await create_influx(gql, world, location, url)
        await store_points(runtime, world.organisations["a"].id, location.id, BATCHES[0])
        _, [claimed] = await claim(runtime, runtime.settings, 10)
        await send_influxdb(runtime, claimed)  # ... and the worker is gone
        assert await deliver_due(runtime) == 0  # the lease holds
        async with runtime.session_factory() as session, session.begin():
            await session.execute(update(fw.OutboundDelivery).values(lease_until=utcnow() - timedelta(seconds=1)))
        assert await deliver_due(runtime) == 1
        assert await deliver_due(runtime) == 0
    assert platform.keys == [claimed.idempotency_key] * 2
    assert len(platform.stored) == 10
    async with runtime.session_factory() as session:
        row = await session.scalar(select(fw.OutboundDelivery))
    assert (row.state, row.attempts) == (fw.DeliveryState.DELIVERED, 2)


async def test_a_target_at_a_private_address_is_refused_unless_the_settings_allow_it(runtime, gql, world, location):
    platform = Platform()
    strict = SimpleNamespace(
        settings=replace(runtime.settings, forwarding_private_addresses=False),
        engine=runtime.engine,
        session_factory=runtime.session_factory,
        sealer=runtime.sealer,
    )
    async with serve_app(influx_app(platform)) as url:
        await create_influx(gql, world, location, url)
        await store_points(runtime, world.organisations["a"].id, location.id, BATCHES[0])
        assert await deliver_due(strict) == 0
        assert platform.keys == [] and platform.refused == []
        async with runtime.session_factory() as session:
            row = await session.scalar(select(fw.OutboundDelivery))
        assert row.state == fw.DeliveryState.QUEUED
        assert row.last_error == "127.0.0.1 is at a non-public address (127.0.0.1); forwarding there is not allowed."
