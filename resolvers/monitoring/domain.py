"""What the data monitoring domain brings to the server (see graph.domain)."""

from typing import Any

from starlette.routing import Route

from graph.domain import Domain
from resolvers.monitoring.demo import seed_demo_telemetry
from resolvers.monitoring.telemetry import management_schema as telemetry_management
from resolvers.monitoring.telemetry import schema as telemetry
from resolvers.monitoring.telemetry.serving import receive_telemetry
from resolvers.monitoring.workers import telemetry_mqtt, telemetry_purge, telemetry_simulator


def _telemetry_subscriber(runtime: Any) -> telemetry_mqtt.TelemetrySubscriber | None:
    url = runtime.settings.mqtt_url
    return telemetry_mqtt.TelemetrySubscriber(runtime, url) if url else None


def _telemetry_purge(runtime: Any) -> telemetry_purge.TelemetryPurge | None:
    return telemetry_purge.TelemetryPurge(runtime) if runtime.settings.telemetry_purge_seconds > 0 else None


def _telemetry_simulator(runtime: Any) -> telemetry_simulator.TelemetrySimulator | None:
    return telemetry_simulator.TelemetrySimulator(runtime) if runtime.settings.demo else None


DOMAIN = Domain(
    name="monitoring",
    queries=(telemetry.TelemetryQuery, telemetry_management.TelemetryManagementQuery),
    mutations=(telemetry.TelemetryMutation, telemetry_management.TelemetryManagementMutation),
    node_resolvers={**telemetry.NODE_RESOLVERS, **telemetry_management.NODE_RESOLVERS},
    routes=(Route("/telemetry", receive_telemetry, methods=["POST"]),),
    workers=(_telemetry_subscriber, _telemetry_purge, _telemetry_simulator),
    demo=(seed_demo_telemetry,),
)
