"""What the metering domain brings to the server (issue 17); its features add themselves here."""

from __future__ import annotations

from graph.domain import Domain
from resolvers.metering.addresses import schema as addresses
from resolvers.metering.points import schema as points
from resolvers.metering.points.demo import seed_demo_metering_points

DOMAIN = Domain(
    name="metering",
    queries=(points.MeteringPointQuery, addresses.AddressQuery),
    mutations=(points.MeteringPointMutation,),
    node_resolvers={**points.NODE_RESOLVERS},
    demo=(seed_demo_metering_points,),
)
