"""GraphQL types of case statuses and activity types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from graph.relay import Node, to_global_id
from models import cases as cs


@strawberry.type(description="A status of cases (the manual's Statussen): whether a case is done or not.")
class CaseStatus(Node):
    name: str = strawberry.field(description="Name, unique within its organisation.")
    description: str = strawberry.field(description="Description; may be empty.")
    sequence: int = strawberry.field(description="Sequence number: lists are in this order (then by name).")
    hidden_in_client: bool = strawberry.field(description="Shown in the portal but not offered in the desktop client.")
    closes_case: bool = strawberry.field(
        description="A case in this status is closed: no longer editable, no new calls."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: cs.CaseStatus) -> CaseStatus:
        return cls(
            id=strawberry.ID(to_global_id("CaseStatus", row.id)),
            name=row.name,
            description=row.description,
            sequence=row.sequence,
            hidden_in_client=row.hidden_in_client,
            closes_case=row.closes_case,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )


@strawberry.type(description="What kind of work a call was (the manual's Activiteittypes).")
class ActivityType(Node):
    name: str = strawberry.field(description="Name, unique within its organisation.")
    description: str = strawberry.field(description="Description; may be empty.")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: cs.ActivityType) -> ActivityType:
        return cls(
            id=strawberry.ID(to_global_id("ActivityType", row.id)),
            name=row.name,
            description=row.description,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )
