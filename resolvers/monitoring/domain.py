"""What the data monitoring domain brings to the server (see graph.domain)."""

from graph.domain import Domain
from resolvers.monitoring.delivery import gauges as delivery_gauges
from resolvers.monitoring.forwarding import schema as forwarding
from resolvers.monitoring.forwarding.enqueue import forward_points
from resolvers.monitoring.hooks import POINTS_STORED
from resolvers.monitoring.key_rotation import FORWARDING_SECRETS
from resolvers.monitoring.workers.delivery import delivery_worker

DOMAIN = Domain(
    name="monitoring",
    queries=(forwarding.ForwardingQuery,),
    mutations=(forwarding.ForwardingMutation,),
    node_resolvers={**forwarding.NODE_RESOLVERS},
    workers=(delivery_worker,),
    hooks=((POINTS_STORED, forward_points),),
    sealed=(FORWARDING_SECRETS,),
    gauges=delivery_gauges.GAUGES,
)
