"""What the remote access domain brings to the server (see graph.domain)."""

from graph.domain import Domain
from resolvers.identity.hooks import REACH_SHRANK
from resolvers.remote import (
    access,
    bulk,
    connections,
    devices,
    events,
    external,
    groups,
    mutations,
    notifications,
    queries,
    templates,
)
from resolvers.remote.workers import mqtt, watchdog


def _router_watchdog(runtime):
    return watchdog.RouterWatchdog(runtime) if runtime.settings.router_watchdog_seconds > 0 else None


def _heartbeat_subscriber(runtime):
    return mqtt.HeartbeatSubscriber(runtime, runtime.settings.mqtt_url) if runtime.settings.mqtt_url else None


DOMAIN = Domain(
    name="remote",
    queries=(
        queries.RemoteQuery,
        templates.DeviceTemplateQuery,
        access.LocationAccessQuery,
        groups.LocationGroupQuery,
        external.ExternalUserQuery,
        connections.ConnectionQuery,
        notifications.NotificationProfileQuery,
    ),
    mutations=(
        mutations.RemoteMutation,
        bulk.RemoteBulkMutation,
        devices.LocationDeviceMutation,
        templates.DeviceTemplateMutation,
        access.LocationAccessMutation,
        groups.LocationGroupMutation,
        external.ExternalUserMutation,
        connections.ConnectionMutation,
        notifications.NotificationProfileMutation,
    ),
    subscriptions=(events.RemoteSubscription,),
    node_resolvers={
        **queries.NODE_RESOLVERS,
        **connections.NODE_RESOLVERS,
        **notifications.NODE_RESOLVERS,
        **external.NODE_RESOLVERS,
    },
    long_text_arguments={
        # CSV text of the bulk router registration (resolvers/remote/bulk.py caps it at 2 MiB of UTF-8)
        "RouterRegisterBulkInput.csv": bulk.MAX_TEXT_BYTES,
    },
    workers=(_router_watchdog, _heartbeat_subscriber),
    hooks=((REACH_SHRANK, access.end_unreachable_connections),),
)
