"""What the data monitoring domain brings to the server (see graph.domain)."""

from graph.domain import Domain
from resolvers.monitoring.telemetry import schema as telemetry

DOMAIN = Domain(
    name="monitoring",
    queries=(telemetry.TelemetryQuery,),
    mutations=(telemetry.TelemetryMutation,),
    node_resolvers={**telemetry.NODE_RESOLVERS},
)
