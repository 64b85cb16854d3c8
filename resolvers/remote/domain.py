"""What the remote access domain brings to the server (see graph.domain)."""

from typing import Any

from graph.domain import Domain
from resolvers.identity.hooks import REACH_SHRANK
from resolvers.remote.access import rules as access_rules
from resolvers.remote.access import schema as access
from resolvers.remote.case_settings import schema as case_settings
from resolvers.remote.cases import schema as cases
from resolvers.remote.cases.demo import seed_demo_cases
from resolvers.remote.cases.serving import EXPORT_ROUTES
from resolvers.remote.clients import schema as clients
from resolvers.remote.clients.demo import seed_demo_clients
from resolvers.remote.configuration_groups import schema as configuration_groups
from resolvers.remote.configuration_groups.demo import seed_demo_configuration_groups
from resolvers.remote.connections import schema as connections
from resolvers.remote.customers import schema as customers
from resolvers.remote.customers.demo import seed_demo_customers
from resolvers.remote.demo import seed_demo_remote
from resolvers.remote.devices import schema as devices
from resolvers.remote.effective import schema as effective
from resolvers.remote.external import schema as external
from resolvers.remote.firewall_rules import schema as firewall_rules
from resolvers.remote.firewall_rules.demo import seed_demo_firewall_rules
from resolvers.remote.groups import schema as groups
from resolvers.remote.live_state import schema as live_state
from resolvers.remote.local_network import schema as local_network
from resolvers.remote.local_network.demo import seed_demo_local_network
from resolvers.remote.locations import schema as locations
from resolvers.remote.notifications import schema as notifications
from resolvers.remote.notifications.demo import seed_demo_condition_profile
from resolvers.remote.routers import bulk
from resolvers.remote.routers import schema as routers
from resolvers.remote.serial_devices import schema as serial_devices
from resolvers.remote.serial_devices.demo import seed_demo_serial_devices
from resolvers.remote.serial_templates import schema as serial_templates
from resolvers.remote.templates import schema as templates
from resolvers.remote.templates.demo import seed_demo_template_links
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
        cases.CaseQuery,
        case_settings.CaseSettingsQuery,
        serial_devices.LocationSerialDeviceQuery,
        serial_templates.SerialDeviceTemplateQuery,
        configuration_groups.ConfigurationGroupQuery,
        local_network.LocalNetworkQuery,
        customers.CustomerQuery,
        firewall_rules.FirewallRuleQuery,
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
        cases.CaseMutation,
        case_settings.CaseSettingsMutation,
        serial_devices.LocationSerialDeviceMutation,
        serial_templates.SerialDeviceTemplateMutation,
        configuration_groups.ConfigurationGroupMutation,
        local_network.LocalNetworkMutation,
        customers.CustomerMutation,
        firewall_rules.FirewallRuleMutation,
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
        **cases.NODE_RESOLVERS,
        **case_settings.NODE_RESOLVERS,
        **serial_devices.NODE_RESOLVERS,
        **serial_templates.NODE_RESOLVERS,
        **configuration_groups.NODE_RESOLVERS,
        **firewall_rules.NODE_RESOLVERS,
        **clients.NODE_RESOLVERS,
    },
    long_text_arguments={
        # CSV text of the bulk router registration (resolvers/remote/routers/bulk.py caps it at 2 MiB of UTF-8)
        "RouterRegisterBulkInput.csv": bulk.MAX_TEXT_BYTES,
    },
    routes=EXPORT_ROUTES,
    workers=(_router_watchdog, _heartbeat_subscriber, _demo_simulator),
    hooks=((REACH_SHRANK, access_rules.end_unreachable_connections),),
    # portal (issue 18): the defaults before the customer, whose shop copies them
    demo=(
        seed_demo_remote,
        seed_demo_local_network,
        seed_demo_firewall_rules,
        seed_demo_customers,
        seed_demo_serial_devices,
        seed_demo_configuration_groups,
        seed_demo_template_links,
        seed_demo_cases,
        seed_demo_clients,
        seed_demo_condition_profile,
    ),
)
