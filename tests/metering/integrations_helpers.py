"""Test data and documents of the integrations tests: tenant A's consumers Anna and Boris with a point each (meter,
account number, Europe/Moscow) and a reading, and local HTTP receivers that count by idempotency key."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graph.relay import to_global_id
from resolvers.metering.readings.ingest import store_readings
from tests.environment import free_port
from tests.metering.readings_helpers import Meters, seed_meters

FIELDS = (
    "id kind meteringPointId enabled periodicity nextTransferDate nextTransferAt timeOfDay retryingDeviceNotFound "
    "email { recipient } webhook { url secretSet } cityPortal { payerId apartment responsiblePerson } "
    "stateHousing { unifiedAccountNumber } utility { subscriberNumber }"
)
CREATE = (
    "mutation($input: IntegrationCreateInput!) { integrationCreate(input: $input) "
    f"{{ integration {{ {FIELDS} }} errors {{ code field message }} }} }}"
)
UPDATE = (
    "mutation($input: IntegrationUpdateInput!) { integrationUpdate(input: $input) "
    f"{{ integration {{ {FIELDS} }} errors {{ code field message }} }} }}"
)
DELETE = (
    "mutation($input: IntegrationIdInput!) { integrationDelete(input: $input) { deletedId errors { code field } } }"
)
SYNCHRONISE = (
    "mutation($input: IntegrationIdInput!) { integrationSynchronise(input: $input) { result reason "
    "run { period trigger status error payloadDigest } integration { retryingDeviceNotFound } "
    "errors { code field message } } }"
)
LIST = (
    "query($id: ID!, $first: Int) { integrations(meteringPointId: $id, first: $first) "
    f"{{ totalCount nodes {{ {FIELDS} }} }} }}"
)
RUNS = (
    "query($id: ID!, $first: Int, $after: String) { integrationRuns(integrationId: $id, first: $first, after: $after) "
    "{ totalCount pageInfo { hasNextPage endCursor } nodes { period trigger status error payloadDigest deliveryId } } }"
)
NODE = f"query($id: ID!) {{ node(id: $id) {{ __typename ... on Integration {{ {FIELDS} }} }} }}"
SECRET = "webhook-secret-0123456789"
READ_AT = datetime(2026, 12, 1, 6, tzinfo=UTC)
#: The moment add_integration schedules from unless told: before every first date the tests use, so the next
#: transfer is the first date itself whatever the real date is when the tests run.
ADDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


async def seed_points(runtime, world) -> Meters:
    """seed_meters, with account numbers and a reading of 123.5 m³ on Anna's meter."""
    from sqlalchemy import update

    from graph.workers import transaction
    from models import metering as mt
    from resolvers.metering.readings.ingest import PointIn, ReadingIn

    seeded = await seed_meters(runtime, world)
    async with transaction(runtime) as session:
        await session.execute(update(mt.MeteringPoint).values(account_number="7712345678"))
        await store_readings(
            session,
            [ReadingIn("33100050", PointIn("volume", 123.5, READ_AT))],
            organisation_id=None,
            now=READ_AT + timedelta(minutes=1),
        )
    return seeded


def point_id(seeded: Meters, name: str) -> str:
    return to_global_id("MeteringPoint", seeded.points[name])


@dataclass
class Receiver:
    """A receiver: `script` says how to answer the next requests ("fail", "slow", "hold", "missing", "bad"; then
    "ok" for ever). `bodies` holds each acknowledged body by idempotency key; `seen` every request's key."""

    script: list[str] = field(default_factory=list)
    slow_seconds: float = 3.0
    bodies: dict[str, list[dict]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    held: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key", "")
        body = await request.body()
        self.seen.append(key)
        self.signatures.append(request.headers.get("x-fleetgraph-signature", ""))
        mode = self.script.pop(0) if self.script else "ok"
        if mode == "fail":
            return Response("internal error", status_code=500)
        if mode == "missing":
            return JSONResponse({"error": "DEVICE_NOT_FOUND"}, status_code=404)
        if mode == "bad":
            return JSONResponse({"error": "INVALID_PAYER"}, status_code=422)
        if mode == "hold":
            self.held.set()
            await asyncio.sleep(3600)
        if mode == "slow":
            await asyncio.sleep(self.slow_seconds)  # the client gave up meanwhile
            return Response(status_code=204)
        self.bodies.setdefault(key, []).append(json.loads(body))
        return JSONResponse({"responsiblePerson": "Мартынов Артём Дмитриевич"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/readings", self.handle, methods=["POST"]), Route("/hook", self.handle, methods=["POST"])]
        )


@contextlib.asynccontextmanager
async def serve(app: Starlette, port: int | None = None) -> AsyncIterator[str]:
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait_for(task, 10)


async def add_integration(
    runtime, point_pk: int, kind, settings: dict, *, first, periodicity="DAILY", minute=600, now=ADDED_AT
):
    """An integration written with the models (the API's own tests are in test_integrations.py); a webhook gets
    SECRET sealed. Its next transfer is its first occurrence after `now` (a fixed moment, not the clock)."""
    from graph.workers import transaction
    from models import metering as mt
    from resolvers.metering.integrations.fields import seal_secret
    from resolvers.metering.integrations.timing import set_next

    async with transaction(runtime) as session:
        point = await session.get(mt.MeteringPoint, point_pk)
        integration = mt.Integration(
            organisation_id=point.organisation_id,
            metering_point_id=point.id,
            kind=kind,
            periodicity=periodicity,
            first_date=first,
            at_minute=minute,
            settings=settings,
        )
        set_next(integration, point.time_zone, now)
        session.add(integration)
        await session.flush()
        if kind is mt.IntegrationKind.WEBHOOK:
            integration.secret, integration.secret_version = seal_secret(runtime.sealer, integration.id, SECRET)
        return integration.id


def pin_schedule_clock(monkeypatch, now: datetime = ADDED_AT) -> None:
    """The API schedules an integration's next transfer from the clock; pin that clock (of the integration rules
    only) so a test's expected transfer dates hold whatever the real date is."""
    from resolvers.metering.integrations import rules

    monkeypatch.setattr(rules, "utcnow", lambda: now)


async def deliver_everything(runtime, settings) -> None:
    """Delivery rounds, each after making the retries due (instead of sleeping through the backoff); bounded."""
    from sqlalchemy import select, update

    from models import forwarding as fw
    from models.base import utcnow
    from resolvers.monitoring.delivery.engine import deliver_due

    for _ in range(20):
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
            return
    raise AssertionError("deliveries still queued after 20 rounds")
