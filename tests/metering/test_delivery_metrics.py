"""/metrics shows the metering cloud's outbound queue (resolvers.monitoring.delivery.gauges): an integration run
queued by the scheduler and a Web Push queued by a transfer's outcome count under their own kinds, and every
other metering kind is there at 0, so a dashboard draws its line before anything was ever queued."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from prometheus_client.parser import text_string_to_metric_families

from models import metering as mt
from resolvers.metering.integrations.scheduler import schedule_due
from tests.metering.integrations_helpers import add_integration, point_id, seed_points
from tests.metering.notifications_helpers import REGISTER, SUBSCRIBE, Browser, finished, transfer

METERING_KINDS = (
    "accounts.sms",
    "metering.push",
    "metering.webhook",
    "metering.email",
    "metering.city_portal",
    "metering.state_housing",
    "metering.utility",
)


async def queue_samples(client) -> dict[tuple[str, str], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.labels["kind"], sample.labels["state"]): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "fleetgraph_outbound_deliveries"
    }


async def test_metrics_show_queued_integration_runs_and_pushes_by_kind(runtime, world, gql, client, monkeypatch):
    # the browser's endpoint is on 127.0.0.1; nothing is sent to it (no delivery round runs)
    settings = dataclasses.replace(runtime.settings, forwarding_private_addresses=True)
    monkeypatch.setattr(runtime, "settings", settings)
    seeded = await seed_points(runtime, world)
    anna, point = seeded.tokens["anna"], point_id(seeded, "anna")

    before = await queue_samples(client)
    assert {kind for kind, _ in before} >= set(METERING_KINDS)
    assert all(before[(kind, state)] == 0 for kind in METERING_KINDS for state in ("QUEUED", "FAILED"))

    hook = {"url": "https://hooks.example/readings"}
    integration = await add_integration(
        runtime, seeded.points["anna"], mt.IntegrationKind.WEBHOOK, hook, first=date(2030, 1, 1)
    )
    assert await schedule_due(runtime, datetime(2030, 1, 1, 7, tzinfo=UTC)) == 1  # 10:00 in Moscow

    subscribed = await gql(SUBSCRIBE, {"input": {"meteringPointId": point}}, token=anna)
    assert subscribed["data"]["meteringPointSubscribe"]["errors"] == []
    browser = {"endpoint": "http://127.0.0.1:9/push/anna-phone", "keys": Browser.new().keys()}
    registered = await gql(REGISTER, {"input": browser}, token=anna)
    assert registered["data"]["pushSubscriptionRegister"]["errors"] == []
    async with runtime.session_factory() as session:
        organisation_id = (await session.get(mt.MeteringPoint, seeded.points["anna"])).organisation_id
    await transfer(runtime, finished(seeded.points["anna"], organisation_id, integration_id=integration))

    samples = await queue_samples(client)
    expected = {(kind, state): 0.0 for kind in METERING_KINDS for state in ("QUEUED", "FAILED")}
    expected[("metering.webhook", "QUEUED")] = expected[("metering.push", "QUEUED")] = 1.0
    assert {key: samples[key] for key in expected} == expected
