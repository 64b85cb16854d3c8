"""GraphQL type of a product type."""

from __future__ import annotations

import strawberry

from graph.relay import Node, to_global_id
from models import catalogue as c

RadioTechnologyEnum = strawberry.enum(
    c.RadioTechnology, description="How a device talks: LoRaWAN, wireless M-Bus (OMS), wired M-Bus, or several radios."
)
KeyKindEnum = strawberry.enum(
    c.KeyKind, description="What a device key is for (LoRaWAN AppKey/NwkKey/session keys, OMS key, other)."
)


@strawberry.type(description="A kind of meter or module, with its radio technology and the kinds of keys it carries.")
class ProductType(Node):
    name: str = strawberry.field(description="Product name, as in the device tables (e.g. TOPAS Lora W8).")
    manufacturer: str = strawberry.field(description="Manufacturer; serial numbers are unique per manufacturer.")
    radio_technology: RadioTechnologyEnum = strawberry.field(description="How devices of this type communicate.")  # type: ignore[valid-type]
    key_kinds: list[KeyKindEnum] = strawberry.field(description="Kinds of keys a device of this type carries.")  # type: ignore[valid-type]
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: c.ProductType) -> ProductType:
        return cls(
            id=strawberry.ID(to_global_id("ProductType", row.id)),
            name=row.name,
            manufacturer=row.manufacturer,
            radio_technology=c.RadioTechnology(row.radio_technology),
            key_kinds=[c.KeyKind(k) for k in row.key_kinds],
            pk=row.id,
        )
