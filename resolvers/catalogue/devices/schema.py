"""The device catalogue query (within the caller's subtree), its filter and the node lookup of devices."""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from sqlalchemy import Select, select
from strawberry.types import Info

from graph.context import Principal
from graph.errors import BadUserInput
from graph.filters import filter_text
from graph.lookahead import LookAhead, ToOne
from graph.permissions import needs
from graph.relay import (
    Connection,
    OrderDirection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
)
from models import catalogue as c
from models import identity as m
from models.identity import Permission
from resolvers.catalogue.batches.types import Batch
from resolvers.catalogue.devices import loaders
from resolvers.catalogue.devices.types import ClaimStatusEnum, Device
from resolvers.catalogue.product_types.types import ProductType
from resolvers.catalogue.scope import batch_visible, device_visible
from resolvers.identity.organisations.types import Organisation

MAX_SERIALS = 1000
MAX_LABELS = 20
MAX_TEXT = 100


@strawberry.input(description="Narrow the device catalogue; all given conditions must hold.")
class DeviceFilter:
    serial_number: str | None = strawberry.field(default=None, description="Exactly this serial number.")
    serial_number_prefix: str | None = strawberry.field(default=None, description="Serial number starts with this.")
    serial_numbers: list[str] | None = strawberry.field(
        default=None, description=f"One of these serial numbers (at most {MAX_SERIALS})."
    )
    product_type_id: strawberry.ID | None = strawberry.field(default=None, description="Of this product type.")
    claim_status: ClaimStatusEnum | None = strawberry.field(default=None, description="CLAIMED or UNCLAIMED.")  # type: ignore[valid-type]
    labels: list[str] | None = strawberry.field(
        default=None, description=f"Has all of these labels (at most {MAX_LABELS})."
    )
    batch_id: strawberry.ID | None = strawberry.field(default=None, description="Came with this batch.")
    batch_reference: str | None = strawberry.field(default=None, description="Came with a batch of this reference.")


@strawberry.enum(description="Fields to sort devices by.")
class DeviceOrderField(enum.Enum):
    SERIAL_NUMBER = "serial_number"
    CREATED_AT = "created_at"


@strawberry.input(description="Sort order of the device catalogue.")
class DeviceOrder:
    field: DeviceOrderField = strawberry.field(default=DeviceOrderField.SERIAL_NUMBER, description="Sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Direction.")


def clean_filter_text(value: str, argument: str) -> str:
    """Filter text is matched as given (trimmed), at most MAX_TEXT characters (graph.filters)."""
    return filter_text(value, argument, MAX_TEXT)


def _pk(global_id: strawberry.ID, type_name: str, argument: str) -> int:
    pk = decode_id(global_id, type_name)
    if pk is None:
        raise BadUserInput(f"Not a {type_name} ID.", argument=argument)
    return pk


def apply_filter(statement: Select[Any], flt: DeviceFilter | None, principal: Principal) -> Select[Any]:
    """The filter's conditions; a batch named by ID or reference must be one the caller sees (a device of
    the caller's can be in a pending batch that its ancestor sent: that batch reads like an unknown one)."""
    if flt is None:
        return statement
    D = c.Device
    if flt.serial_number is not None:
        statement = statement.where(D.serial_number == clean_filter_text(flt.serial_number, "filter.serialNumber"))
    if flt.serial_number_prefix:
        prefix = clean_filter_text(flt.serial_number_prefix, "filter.serialNumberPrefix")
        statement = statement.where(D.serial_number.startswith(prefix, autoescape=True))
    if flt.serial_numbers is not None:
        if len(flt.serial_numbers) > MAX_SERIALS:
            raise BadUserInput(f"At most {MAX_SERIALS} serial numbers.", argument="filter.serialNumbers")
        serials = {clean_filter_text(s, "filter.serialNumbers") for s in flt.serial_numbers}
        statement = statement.where(D.serial_number.in_(serials))
    if flt.product_type_id is not None:
        statement = statement.where(
            D.product_type_id == _pk(flt.product_type_id, "ProductType", "filter.productTypeId")
        )
    if flt.claim_status is not None:
        statement = statement.where(D.claim_status == c.ClaimStatus(flt.claim_status))
    if flt.labels:
        if len(flt.labels) > MAX_LABELS:
            raise BadUserInput(f"At most {MAX_LABELS} labels.", argument="filter.labels")
        for label in {clean_filter_text(lb, "filter.labels") for lb in flt.labels}:
            statement = statement.where(D.id.in_(select(c.DeviceLabel.device_id).where(c.DeviceLabel.label == label)))
    if flt.batch_id is not None:
        pk = _pk(flt.batch_id, "Batch", "filter.batchId")
        statement = statement.where(
            D.batch_id.in_(select(c.Batch.id).where(c.Batch.id == pk, batch_visible(principal)))
        )
    if flt.batch_reference is not None:
        reference = clean_filter_text(flt.batch_reference, "filter.batchReference")
        statement = statement.where(
            D.batch_id.in_(select(c.Batch.id).where(c.Batch.reference == reference, batch_visible(principal)))
        )
    return statement


#: The device list joins its to-one relations into the page's statement. The batch is not scoped: a device's
#: batch shows, as Device.batch shows it.
DEVICE_JOINS = {
    "product_type": ToOne(c.ProductType, lambda row, _: row.id == c.Device.product_type_id, ProductType.from_model),
    "organisation": ToOne(m.Organisation, lambda row, _: row.id == c.Device.organisation_id, Organisation.from_model),
    "batch": ToOne(c.Batch, lambda row, _: row.id == c.Device.batch_id, Batch.from_model),
}


@strawberry.type
class DeviceQuery:
    @strawberry.field(
        description="Devices owned by your organisation and its descendants (platform admins: all), by serial number.",
        permission_classes=[needs(Permission.DEVICES_READ)],
    )
    async def devices(
        self,
        info: Info,
        filter: DeviceFilter | None = None,
        order_by: DeviceOrder | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Device]:
        principal = info.context.principal
        statement = apply_filter(select(c.Device).where(device_visible(principal)), filter, principal)
        order = order_by or DeviceOrder()
        descending = order.direction == OrderDirection.DESC
        keys = [SortKey(getattr(c.Device, order.field.value), descending), SortKey(c.Device.id, descending)]
        return await paginate(
            info.context,
            statement,
            keys,
            Device.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, Device, DEVICE_JOINS),
        )


NODE_RESOLVERS = {
    "Device": (Permission.DEVICES_READ, node_loader(loaders.visible_devices, Device.from_model)),
}
