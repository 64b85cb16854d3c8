"""addressSearch: addresses from the configured directory, each with the handle a metering point binds."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.errors import DomainError, refused
from graph.permissions import needs
from models.identity import Permission
from resolvers.metering.addresses.directory import MAX_RESULTS, DirectoryUnavailable, address_directory
from resolvers.metering.errors import MeteringError
from resolvers.metering.errors import MeteringErrorCode as Code
from resolvers.metering.points.types import Address

MAX_QUERY = 200


@strawberry.type(description="Addresses found, or why the search failed.")
class AddressSearchPayload:
    addresses: list[Address] | None = strawberry.field(description="Best first; null when the search failed.")
    errors: list[MeteringError] = strawberry.field(description="Why the search failed (UNAVAILABLE, TOO_LONG).")


@strawberry.type
class AddressQuery:
    @strawberry.field(
        description="Search addresses (FLEETGRAPH_ADDRESS_DIRECTORY: the stored ones and the shipped sample, or "
        "Nominatim); pass a result's handle to meteringPointCreate or meteringPointUpdate.",
        permission_classes=[needs(Permission.METERING_MANAGE)],
    )
    async def address_search(
        self,
        info: Info,
        query: Annotated[str, strawberry.argument(description="Street, house, city… (any order).")],
        first: Annotated[int, strawberry.argument(description=f"At most this many (1 to {MAX_RESULTS}).")] = 10,
    ) -> AddressSearchPayload:
        context = info.context
        text = query.strip()
        if len(text) > MAX_QUERY or "\x00" in text:
            return refused(
                AddressSearchPayload, DomainError(Code.TOO_LONG, f"At most {MAX_QUERY} characters.", "query")
            )
        if not 1 <= first <= MAX_RESULTS:
            return refused(AddressSearchPayload, DomainError(Code.INVALID, f"1 to {MAX_RESULTS}.", "first"))
        if not text:
            return AddressSearchPayload(addresses=[], errors=[])
        try:
            async with context.session() as session:
                found = await address_directory(context.runtime.settings).search(
                    session, context.principal, text, first
                )
        except DirectoryUnavailable:
            error = DomainError(Code.UNAVAILABLE, "The address directory did not answer; try again later.", "query")
            return refused(AddressSearchPayload, error)
        return AddressSearchPayload(addresses=[Address.from_model(address) for address in found], errors=[])
