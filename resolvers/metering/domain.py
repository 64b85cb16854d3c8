"""What the metering domain brings to the server (issue 17); its features add themselves here."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from graph.domain import Domain
from resolvers.metering.accounts.commands import sms_gateway_credentials
from resolvers.metering.accounts.key_rotation import SMS_GATEWAY_CREDENTIALS
from resolvers.metering.accounts.schema import AccountMutation
from resolvers.metering.addresses import schema as addresses
from resolvers.metering.hooks import TRANSFER_FINISHED
from resolvers.metering.integrations import schema as integrations
from resolvers.metering.integrations.demo import DEMO_RECEIVER, demo_receiver, seed_demo_integrations
from resolvers.metering.key_rotation import INTEGRATION_SECRETS
from resolvers.metering.notifications import schema as notifications
from resolvers.metering.notifications.demo import seed_demo_notifications
from resolvers.metering.notifications.notify import notify_transfer
from resolvers.metering.notifications.vapid import VAPID_KEY
from resolvers.metering.points import schema as points
from resolvers.metering.points.demo import seed_demo_metering_points
from resolvers.metering.readings import schema as readings
from resolvers.metering.readings.demo import seed_demo_readings
from resolvers.metering.readings.serving import receive_readings
from resolvers.metering.workers import integration_scheduler, integrations_demo, readings_mqtt, readings_simulator


def _readings_subscriber(runtime: Any) -> readings_mqtt.ReadingsSubscriber | None:
    url = runtime.settings.mqtt_url
    return readings_mqtt.ReadingsSubscriber(runtime, url) if url else None


def _readings_simulator(runtime: Any) -> readings_simulator.ReadingsSimulator | None:
    return readings_simulator.ReadingsSimulator(runtime) if runtime.settings.demo else None


DOMAIN = Domain(
    name="metering",
    queries=(
        points.MeteringPointQuery,
        addresses.AddressQuery,
        readings.ReadingsQuery,
        integrations.IntegrationQuery,
        notifications.NotificationQuery,
    ),
    mutations=(
        AccountMutation,
        points.MeteringPointMutation,
        readings.ReadingsMutation,
        integrations.IntegrationMutation,
        notifications.NotificationMutation,
    ),
    node_resolvers={**points.NODE_RESOLVERS, **readings.NODE_RESOLVERS, **integrations.NODE_RESOLVERS},
    routes=(
        Route("/meters/readings", receive_readings, methods=["POST"]),
        Route(DEMO_RECEIVER, demo_receiver, methods=["POST"]),
    ),
    workers=(
        _readings_subscriber,
        _readings_simulator,
        integration_scheduler.integration_scheduler,
        integrations_demo.demo_transfers,
    ),
    hooks=((TRANSFER_FINISHED, notify_transfer),),
    sealed=(SMS_GATEWAY_CREDENTIALS, INTEGRATION_SECRETS, VAPID_KEY),
    commands={"sms-gateway-credentials": sms_gateway_credentials},
    # the readings' history is seeded for meters bound to points: after the points; the integrations and the
    # subscriptions are the points' too
    demo=(seed_demo_metering_points, seed_demo_readings, seed_demo_integrations, seed_demo_notifications),
)
