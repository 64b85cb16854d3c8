"""What the data monitoring domain brings to the server (see graph.domain)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from graph.domain import Domain
from graph.svg import MAX_BYTES as MAX_SVG_BYTES
from resolvers.monitoring.alarms import alarm_schema, live, notification_schema, profile_schema
from resolvers.monitoring.alarms.evaluation import evaluate_points
from resolvers.monitoring.alarms.notifications import note_link_base
from resolvers.monitoring.alarms.system import install_system_profiles, router_online_changed
from resolvers.monitoring.datalog import discovery as datalog_discovery
from resolvers.monitoring.datalog import schema as datalog
from resolvers.monitoring.delivery import gauges as delivery_gauges
from resolvers.monitoring.demo import seed_demo_datalog, seed_demo_monitoring
from resolvers.monitoring.forwarding import schema as forwarding
from resolvers.monitoring.forwarding.enqueue import forward_points
from resolvers.monitoring.graphics import schema as graphics
from resolvers.monitoring.hooks import POINTS_STORED
from resolvers.monitoring.key_rotation import DATALOG_SECRETS, FORWARDING_SECRETS
from resolvers.monitoring.telemetry import management_schema as telemetry_management
from resolvers.monitoring.telemetry import schema as telemetry
from resolvers.monitoring.telemetry.demo import seed_demo_telemetry
from resolvers.monitoring.telemetry.serving import receive_telemetry
from resolvers.monitoring.workers import (
    alarm_timer,
    datalog_demo,
    datalog_link,
    datalog_timer,
    telemetry_mqtt,
    telemetry_purge,
    telemetry_simulator,
)
from resolvers.monitoring.workers.delivery import delivery_worker
from resolvers.remote.router_events import ROUTER_ONLINE_CHANGED


def _datalog_link(runtime: Any) -> Any:
    """MQTT when configured; in demo mode without MQTT the simulated routers; otherwise no link (uploads and
    discovery are refused with ROUTER_OFFLINE)."""
    if runtime.settings.mqtt_url:
        return datalog_link.MqttRouterLink(runtime, runtime.settings.mqtt_url)
    return datalog_demo.SimulatedRouterLink(runtime) if runtime.settings.demo else None


def _datalog_timer(runtime: Any) -> datalog_timer.UploadTimer | None:
    return datalog_timer.UploadTimer(runtime) if runtime.settings.datalog_timer_seconds > 0 else None


def _telemetry_subscriber(runtime: Any) -> telemetry_mqtt.TelemetrySubscriber | None:
    url = runtime.settings.mqtt_url
    return telemetry_mqtt.TelemetrySubscriber(runtime, url) if url else None


def _telemetry_purge(runtime: Any) -> telemetry_purge.TelemetryPurge | None:
    return telemetry_purge.TelemetryPurge(runtime) if runtime.settings.telemetry_purge_seconds > 0 else None


def _telemetry_simulator(runtime: Any) -> telemetry_simulator.TelemetrySimulator | None:
    return telemetry_simulator.TelemetrySimulator(runtime) if runtime.settings.demo else None


def _alarm_timer(runtime: Any) -> alarm_timer.AlarmTimer | None:
    return alarm_timer.AlarmTimer(runtime) if runtime.settings.alarm_timer_seconds > 0 else None


DOMAIN = Domain(
    name="monitoring",
    queries=(
        telemetry.TelemetryQuery,
        telemetry_management.TelemetryManagementQuery,
        datalog.DatalogQuery,
        profile_schema.AlarmProfileQuery,
        alarm_schema.AlarmQuery,
        notification_schema.AlarmNotificationQuery,
        forwarding.ForwardingQuery,
    ),
    mutations=(
        telemetry.TelemetryMutation,
        telemetry_management.TelemetryManagementMutation,
        datalog.DatalogMutation,
        datalog_discovery.DiscoveryMutation,
        graphics.GraphicMutation,
        profile_schema.AlarmProfileMutation,
        alarm_schema.AlarmMutation,
        notification_schema.AlarmNotificationMutation,
        forwarding.ForwardingMutation,
    ),
    subscriptions=(live.AlarmSubscription,),
    node_resolvers={
        **telemetry.NODE_RESOLVERS,
        **telemetry_management.NODE_RESOLVERS,
        **datalog.NODE_RESOLVERS,
        **graphics.NODE_RESOLVERS,
        **profile_schema.NODE_RESOLVERS,
        **alarm_schema.NODE_RESOLVERS,
        **forwarding.NODE_RESOLVERS,
    },
    long_text_arguments={
        # the uploaded SVG of a graphical configuration (resolvers/monitoring/graphics/svg.py caps it in bytes)
        "GraphicCreateInput.svg": MAX_SVG_BYTES,
        "GraphicUpdateInput.svg": MAX_SVG_BYTES,
    },
    routes=(Route("/telemetry", receive_telemetry, methods=["POST"]),),
    startup=(install_system_profiles,),
    workers=(
        _telemetry_subscriber,
        _telemetry_purge,
        _telemetry_simulator,
        _datalog_link,
        _datalog_timer,
        _alarm_timer,
        note_link_base,
        delivery_worker,
    ),
    hooks=(
        (POINTS_STORED, evaluate_points),
        (ROUTER_ONLINE_CHANGED, router_online_changed),
        (POINTS_STORED, forward_points),
    ),
    sealed=(DATALOG_SECRETS, FORWARDING_SECRETS),
    gauges=delivery_gauges.GAUGES,
    scalars={telemetry.TelemetryValue: telemetry.TELEMETRY_VALUE_SCALAR},
    demo=(seed_demo_telemetry, seed_demo_datalog, seed_demo_monitoring),
)
