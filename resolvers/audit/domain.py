"""What the audit domain brings to the server (see graph.domain)."""

from graph.domain import Domain
from resolvers.audit import queries

DOMAIN = Domain(
    name="audit",
    queries=(queries.AuditQuery,),
    subscriptions=(queries.AuditSubscription,),
    node_resolvers=queries.NODE_RESOLVERS,
)
