"""What the data monitoring domain brings to the server (see graph.domain)."""

from __future__ import annotations

from typing import Any

from graph.domain import Domain
from resolvers.monitoring.alarms import alarm_schema, history, live, notification_schema, profile_schema
from resolvers.monitoring.alarms.evaluation import evaluate_points
from resolvers.monitoring.alarms.notifications import note_link_base
from resolvers.monitoring.alarms.system import install_system_profiles, router_online_changed
from resolvers.monitoring.demo import seed_demo_monitoring
from resolvers.monitoring.hooks import POINTS_STORED
from resolvers.monitoring.workers import alarm_timer
from resolvers.remote.router_events import ROUTER_ONLINE_CHANGED


def _alarm_timer(runtime: Any) -> alarm_timer.AlarmTimer | None:
    return alarm_timer.AlarmTimer(runtime) if runtime.settings.alarm_timer_seconds > 0 else None


DOMAIN = Domain(
    name="monitoring",
    queries=(
        profile_schema.AlarmProfileQuery,
        alarm_schema.AlarmQuery,
        notification_schema.AlarmNotificationQuery,
        history.MonitoringHistoryQuery,
    ),
    mutations=(
        profile_schema.AlarmProfileMutation,
        alarm_schema.AlarmMutation,
        notification_schema.AlarmNotificationMutation,
    ),
    subscriptions=(live.AlarmSubscription,),
    node_resolvers={**profile_schema.NODE_RESOLVERS, **alarm_schema.NODE_RESOLVERS},
    startup=(install_system_profiles,),
    workers=(_alarm_timer, note_link_base),
    demo=(seed_demo_monitoring,),
    hooks=((POINTS_STORED, evaluate_points), (ROUTER_ONLINE_CHANGED, router_online_changed)),
)
