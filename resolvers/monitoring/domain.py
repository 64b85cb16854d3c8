"""What the data monitoring domain brings to the server (see graph.domain)."""

from typing import Any

from graph.domain import Domain
from resolvers.monitoring.datalog import discovery as datalog_discovery
from resolvers.monitoring.datalog import schema as datalog
from resolvers.monitoring.demo import seed_demo_datalog
from resolvers.monitoring.graphics import schema as graphics
from resolvers.monitoring.graphics.svg import MAX_BYTES as MAX_SVG_BYTES
from resolvers.monitoring.key_rotation import DATALOG_SECRETS
from resolvers.monitoring.workers import datalog_demo, datalog_link, datalog_timer


def _datalog_link(runtime: Any) -> Any:
    """MQTT when configured; in demo mode without MQTT the simulated routers; otherwise no link (uploads and
    discovery are refused with ROUTER_OFFLINE)."""
    if runtime.settings.mqtt_url:
        return datalog_link.MqttRouterLink(runtime, runtime.settings.mqtt_url)
    return datalog_demo.SimulatedRouterLink(runtime) if runtime.settings.demo else None


def _datalog_timer(runtime: Any) -> datalog_timer.UploadTimer | None:
    return datalog_timer.UploadTimer(runtime) if runtime.settings.datalog_timer_seconds > 0 else None


DOMAIN = Domain(
    name="monitoring",
    queries=(datalog.DatalogQuery,),
    mutations=(datalog.DatalogMutation, datalog_discovery.DiscoveryMutation, graphics.GraphicMutation),
    node_resolvers={**datalog.NODE_RESOLVERS, **graphics.NODE_RESOLVERS},
    long_text_arguments={
        # the uploaded SVG of a graphical configuration (resolvers/monitoring/graphics/svg.py caps it in bytes)
        "GraphicCreateInput.svg": MAX_SVG_BYTES,
        "GraphicUpdateInput.svg": MAX_SVG_BYTES,
    },
    workers=(_datalog_link, _datalog_timer),
    sealed=(DATALOG_SECRETS,),
    demo=(seed_demo_datalog,),
)
