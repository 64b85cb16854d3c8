"""What the remote access domain brings to the server (see graph.domain)."""

from typing import Any

from graph.domain import Domain
from resolvers.identity.hooks import REACH_SHRANK
from resolvers.remote.access import rules as access_rules
from resolvers.remote.access import schema as access
from resolvers.remote.clients import schema as clients
from resolvers.remote.clients.demo import seed_demo_clients
from resolvers.remote.connections import schema as connections
from resolvers.remote.demo import seed_demo_remote
from resolvers.remote.devices import schema as devices
from resolvers.remote.effective import schema as effective
from resolvers.remote.external import schema as external
from resolvers.remote.groups import schema as groups
from resolvers.remote.live_state import schema as live_state
from resolvers.remote.locations import schema as locations
from resolvers.remote.notifications import schema as notifications
from resolvers.remote.notifications.demo import seed_demo_condition_profile
from resolvers.remote.routers import bulk
from resolvers.remote.routers import schema as routers
from resolvers.remote.templates import schema as templates
from resolvers.remote.workers import mqtt, simulator, watchdog


def _router_watchdog(runtime: Any) -> watchdog.RouterWatchdog | None:
    return watchdog.RouterWatchdog(runtime) if runtime.settings.router_watchdog_seconds > 0 else None


def _heartbeat_subscriber(runtime: Any) -> mqtt.HeartbeatSubscriber | None:
    return mqtt.HeartbeatSubscriber(runtime, runtime.settings.mqtt_url) if runtime.settings.mqtt_url else None


def _demo_simulator(runtime: Any) -> simulator.DemoSimulator | None:
    return simulator.DemoSimulator(runtime) if runtime.settings.demo else None


DOMAIN = Domain(
    name="remote",
    queries=(
        routers.RouterQuery,
        locations.LocationQuery,
        templates.DeviceTemplateQuery,
        access.LocationAccessQuery,
        groups.LocationGroupQuery,
        external.ExternalUserQuery,
        connections.ConnectionQuery,
        notifications.NotificationProfileQuery,
        clients.ClientQuery,
        effective.EffectiveAccessQuery,
    ),
    mutations=(
        routers.RouterMutation,
        locations.LocationMutation,
        devices.LocationDeviceMutation,
        templates.DeviceTemplateMutation,
        access.LocationAccessMutation,
        groups.LocationGroupMutation,
        external.ExternalUserMutation,
        connections.ConnectionMutation,
        notifications.NotificationProfileMutation,
        clients.ClientMutation,
    ),
    subscriptions=(live_state.RemoteSubscription,),
    node_resolvers={
        **routers.NODE_RESOLVERS,
        **locations.NODE_RESOLVERS,
        **devices.NODE_RESOLVERS,
        **templates.NODE_RESOLVERS,
        **groups.NODE_RESOLVERS,
        **connections.NODE_RESOLVERS,
        **notifications.NODE_RESOLVERS,
        **external.NODE_RESOLVERS,
        **clients.NODE_RESOLVERS,
    },
    long_text_arguments={
        # CSV text of the bulk router registration (resolvers/remote/routers/bulk.py caps it at 2 MiB of UTF-8)
        "RouterRegisterBulkInput.csv": bulk.MAX_TEXT_BYTES,
    },
    workers=(_router_watchdog, _heartbeat_subscriber, _demo_simulator),
    hooks=((REACH_SHRANK, access_rules.end_unreachable_connections),),
    demo=(seed_demo_remote, seed_demo_clients, seed_demo_condition_profile),
)
