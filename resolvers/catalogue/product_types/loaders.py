"""DataLoader batch functions of product types."""

from __future__ import annotations

from graph.loaders import rows_by_id
from models import catalogue as c

#: Product types are shipped data, the same for everyone.
product_types = rows_by_id(c.ProductType)
