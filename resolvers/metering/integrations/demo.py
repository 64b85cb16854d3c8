"""The integrations' demo (Domain.demo and demo mode only): the demo consumer's cold water point gets a webhook
to this server's own demo receiver (POST /demo/integrations/webhook) and the hot water point an e-mail
integration; the demo transfer worker (resolvers/metering/workers/integrations_demo.py) queues them every few
minutes, so their run history fills while `fleetgraph serve --demo` runs."""

from __future__ import annotations

import logging
from datetime import timedelta

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from graph.demo import DemoTenants
from graph.relay import decode_id
from graph.secrets import SecretError
from graph.settings import Settings
from models import identity as m
from models import metering as mt
from models.base import utcnow
from resolvers.metering.integrations.adapters import signature
from resolvers.metering.integrations.fields import open_secret, seal_secret
from resolvers.metering.integrations.schedule import Periodicity
from resolvers.metering.integrations.timing import set_next
from resolvers.metering.points.demo import DEMO_CONSUMER

log = logging.getLogger("fleetgraph.metering.integrations")

DEMO_RECEIVER = "/demo/integrations/webhook"
#: The demo webhook's HMAC secret: demo data, shown in the README so a newcomer can check a signature.
DEMO_SECRET = "demo-webhook-secret-0001"


async def demo_integration_ids(session: AsyncSession) -> list[int]:
    """The demo consumer's integrations (what the demo transfer worker queues)."""
    return list(
        (
            await session.scalars(
                select(mt.Integration.id)
                .join(mt.MeteringPoint, mt.MeteringPoint.id == mt.Integration.metering_point_id)
                .join(m.User, m.User.id == mt.MeteringPoint.owner_id)
                .where(m.User.email == DEMO_CONSUMER[1], mt.Integration.enabled)
                .order_by(mt.Integration.id)
            )
        ).all()
    )


async def seed_demo_integrations(session: AsyncSession, tenants: DemoTenants) -> None:
    """A daily webhook on the cold water point and a monthly e-mail on the hot water point, created yesterday."""
    consumer_id = tenants.users[DEMO_CONSUMER[1]]
    points = (
        await session.scalars(
            select(mt.MeteringPoint).where(mt.MeteringPoint.owner_id == consumer_id).order_by(mt.MeteringPoint.id)
        )
    ).all()
    url = Settings.from_env().link_base_url + DEMO_RECEIVER  # `serve` puts its own URL in the environment
    now = utcnow()
    kinds = [
        (mt.IntegrationKind.WEBHOOK, Periodicity.DAILY, {"url": url}),
        (mt.IntegrationKind.EMAIL, Periodicity.MONTHLY, {"recipient": "readings@management-company.example"}),
    ]
    for point, (kind, periodicity, settings) in zip(points, kinds, strict=False):
        integration = mt.Integration(
            organisation_id=point.organisation_id,
            metering_point_id=point.id,
            kind=kind,
            periodicity=periodicity.value,
            first_date=(now - timedelta(days=1)).date(),
            at_minute=10 * 60,
            settings=settings,
        )
        set_next(integration, point.time_zone, now)
        session.add(integration)
        await session.flush()
        if kind is mt.IntegrationKind.WEBHOOK:
            integration.secret, integration.secret_version = seal_secret(tenants.sealer, integration.id, DEMO_SECRET)
    await session.flush()


async def demo_receiver(request: Request) -> Response:
    """Demo mode only: accepts a demo webhook's POST and logs whether its signature holds (nothing of the body)."""
    runtime = request.app.state.runtime
    if not runtime.settings.demo:
        return Response(status_code=404)
    body = await request.body()
    try:
        integration_pk = decode_id(str(orjson.loads(body).get("integration", "")), "Integration")
    except (orjson.JSONDecodeError, AttributeError):
        return JSONResponse({"error": "NOT_JSON"}, status_code=400)
    async with runtime.session_factory() as session:
        integration = await session.get(mt.Integration, integration_pk) if integration_pk else None
    try:
        secret = open_secret(runtime.sealer, integration.id, integration.secret) if integration else ""
    except SecretError:
        secret = ""
    valid = bool(secret) and request.headers.get("x-fleetgraph-signature") == signature(secret, body)
    log.info("demo webhook receiver: integration %s, signature %s", integration_pk, "valid" if valid else "INVALID")
    return JSONResponse({"received": True}, status_code=200 if valid else 401)
