"""GraphQL types of the audit domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models.audit import AuditEvent as AuditEventModel
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation


@strawberry.type(description="One entry of the event history: who did what, when, from where.")
class AuditEvent(Node):
    action: str = strawberry.field(description='What happened, e.g. "user.login" or "user.created".')
    actor: str = strawberry.field(description="Who acted, as known at the time (e-mail address or anonymous).")
    target_type: str = strawberry.field(description="Kind of object acted on (e.g. User), or empty.")
    target_id: strawberry.ID | None = strawberry.field(description="Global ID of the object acted on, if any.")
    details: JSON = strawberry.field(description="Further facts (never secrets).")
    client_address: str = strawberry.field(description="Network address the request came from.")
    created_at: datetime = strawberry.field(description="When it happened.")
    cursor: str | None = strawberry.field(
        description="Its place in the live stream, on events `auditEventRecorded` delivers (null elsewhere): "
        "subscribe again with `after: cursor` to get what follows."
    )
    organisation_pk: strawberry.Private[int | None]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: AuditEventModel, cursor: str | None = None) -> AuditEvent:
        return cls(
            id=strawberry.ID(to_global_id("AuditEvent", row.id)),
            action=row.action,
            actor=row.actor_label,
            target_type=row.target_type,
            target_id=strawberry.ID(to_global_id(row.target_type, row.target_id))
            if row.target_type and row.target_id
            else None,
            details=JSON(row.details),
            client_address=row.client_address,
            created_at=row.created_at,
            cursor=cursor,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="The organisation the event belongs to.")
    @relation(
        Batched(identity_loaders.organisations, key=lambda event: event.organisation_pk, build=Organisation.from_model)
    )
    def organisation(self, info: Info) -> Organisation | None: ...
