"""Binding an address found by a directory: stored structured, once per source and external ID."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.db import insert_or_ignore
from graph.errors import DomainError
from models import metering as mt
from resolvers.metering.addresses.directory import DirectoryUnavailable, address_directory, parse_handle
from resolvers.metering.errors import MeteringErrorCode as Code


async def stored_address(session: AsyncSession, context: Context, handle: str, field: str) -> mt.Address:
    """The stored address of a search result's handle, stored now if it is new (before the rule's first write:
    a directory's answer is awaited while no lock is held)."""
    parsed = parse_handle(handle)
    if parsed is None:
        raise DomainError(Code.INVALID, "Not an address handle (take one from addressSearch).", field)
    source, external_id = parsed
    same = select(mt.Address).where(mt.Address.source == source, mt.Address.external_id == external_id)
    address = await session.scalar(same)
    if address is not None:
        return address
    try:
        found = await address_directory(context.runtime.settings).lookup(source, external_id)
    except DirectoryUnavailable:
        raise DomainError(Code.UNAVAILABLE, "The address directory did not answer; try again later.", field) from None
    if found is None:
        raise DomainError(Code.NOT_FOUND, "No such address.", field)
    # two points binding the same new address at once: one inserts, both use that row
    await insert_or_ignore(session, mt.Address, **found.columns())
    address = await session.scalar(same)
    assert address is not None
    return address
