"""GraphQL type of contact addresses."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graph.relay import Node, to_global_id
from models import identity as m


@strawberry.type(description="An address you get notifications at, once confirmed through the link mailed to it.")
class ContactEmail(Node):
    email: str = strawberry.field(description="The address (lower case).")
    confirmed_at: datetime | None = strawberry.field(description="When its owner confirmed it; null: not used yet.")
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def from_model(cls, row: m.ContactEmail) -> ContactEmail:
        return cls(
            id=strawberry.ID(to_global_id("ContactEmail", row.id)),
            email=row.email,
            confirmed_at=row.confirmed_at,
            created_at=row.created_at,
        )
