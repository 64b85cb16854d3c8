"""The productTypes query and the node lookup of product types."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.permissions import needs
from graph.relay import node_loader
from models import catalogue as c
from models.identity import Permission
from resolvers.catalogue.product_types import loaders
from resolvers.catalogue.product_types.types import ProductType


@strawberry.type
class ProductTypeQuery:
    @strawberry.field(description="Every product type, by name.", permission_classes=[needs(Permission.DEVICES_READ)])
    async def product_types(self, info: Info) -> list[ProductType]:
        async with info.context.session() as session:
            rows = (await session.scalars(select(c.ProductType).order_by(c.ProductType.name, c.ProductType.id))).all()
        return [ProductType.from_model(row) for row in rows]


NODE_RESOLVERS = {
    "ProductType": (Permission.DEVICES_READ, node_loader(loaders.product_types, ProductType.from_model)),
}
