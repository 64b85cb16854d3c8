"""What the audit domain brings to the server (see graph.domain)."""

from graph.domain import Domain
from resolvers.audit import schema

DOMAIN = Domain(
    name="audit",
    queries=(schema.AuditQuery,),
    subscriptions=(schema.AuditSubscription,),
    node_resolvers=schema.NODE_RESOLVERS,
)
