"""What the data monitoring domain brings to the server (see graph.domain)."""

from graph.domain import Domain
from resolvers.monitoring.delivery import gauges as delivery_gauges
from resolvers.monitoring.workers.delivery import delivery_worker

DOMAIN = Domain(
    name="monitoring",
    workers=(delivery_worker,),
    gauges=delivery_gauges.GAUGES,
)
