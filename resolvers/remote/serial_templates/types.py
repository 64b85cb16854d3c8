"""GraphQL type of serial device templates."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import remote as r
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.remote.serial_devices.types import SerialSettings, settings_fields


@strawberry.type(description="Serial port settings described once; a new serial device may copy them.")
class SerialDeviceTemplate(SerialSettings, Node):
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: r.SerialDeviceTemplate) -> SerialDeviceTemplate:
        return cls(
            id=strawberry.ID(to_global_id("SerialDeviceTemplate", row.id)),
            pk=row.id,
            organisation_pk=row.organisation_id,
            **settings_fields(row),
        )

    @strawberry.field(description="The organisation it belongs to (its locations and its descendants' may use it).")
    @relation(
        Batched(
            identity_loaders.organisations,
            key=lambda template: template.organisation_pk,
            build=Organisation.from_model,
        )
    )
    def organisation(self, info: Info) -> Organisation | None: ...
