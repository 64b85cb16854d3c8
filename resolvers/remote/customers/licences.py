"""A reseller's connection licences are a pool it splits among its customers (manual §24).

Giving N moves N from the reseller's licence row to the customer's; taking back moves them the other way. Each
move takes from its source with one conditional UPDATE (only while enough are free: not needed by the source's
own active connections) whose row count decides, so parallel moves can never overdraw a pool, and the sum of
the two pools stays what it was. Both moves lock the reseller's row first, so they cannot deadlock.
A reseller without a licence row (unlimited) has nothing to give."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from models import portal as pt
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.customers.rules import visible_customer
from resolvers.remote.errors import RemoteErrorCode as Code

#: More in one move is a typing error.
MAX_MOVE = 100_000
LICENCE = r.ConnectionLicence


def _check_count(count: int) -> None:
    if not 1 <= count <= MAX_MOVE:
        raise DomainError(Code.INVALID, f"Give a number from 1 to {MAX_MOVE}.", "count")


def _in_use(organisation_id: int):
    return (
        select(func.count())
        .select_from(r.RouterConnection)
        .where(r.RouterConnection.organisation_id == organisation_id, r.RouterConnection.ended_at.is_(None))
        .scalar_subquery()
    )


async def _take(session: AsyncSession, organisation_id: int, count: int) -> bool:
    """Take `count` free licences from an organisation's row: whether it had them (the row count decides)."""
    taken = await session.execute(
        update(LICENCE)
        .where(
            LICENCE.organisation_id == organisation_id,
            LICENCE.max_active_connections - count >= _in_use(organisation_id),
        )
        .values(max_active_connections=LICENCE.max_active_connections - count)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], taken).rowcount == 1


async def _add(session: AsyncSession, organisation_id: int, count: int) -> None:
    """Add to an organisation's row, made if missing (one statement: parallel first gifts do not collide)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(LICENCE).values(organisation_id=organisation_id, max_active_connections=count)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[LICENCE.organisation_id],
            set_={"max_active_connections": LICENCE.max_active_connections + count},
        )
    )


async def _free(session: AsyncSession, organisation_id: int) -> int | None:
    held = await session.scalar(
        select(LICENCE.max_active_connections).where(LICENCE.organisation_id == organisation_id)
    )
    return None if held is None else held - (await session.scalar(select(_in_use(organisation_id))) or 0)


async def _recorded(session: AsyncSession, context: Context, action: str, customer: pt.Customer, count: int) -> int:
    await record(
        session,
        context,
        action,
        organisation_id=customer.reseller_id,
        target_type="Organisation",
        target_id=customer.organisation_id,
        details={"count": count},
    )
    held = await session.scalar(
        select(LICENCE.max_active_connections).where(LICENCE.organisation_id == customer.organisation_id)
    )
    return held or 0


async def give(session: AsyncSession, context: Context, customer_id: str, count: int) -> tuple[pt.Customer, int]:
    """Move `count` licences from the reseller's pool to the customer's; the customer's licences after."""
    _check_count(count)
    customer = await visible_customer(session, context, customer_id, "customerId")
    if not await _take(session, customer.reseller_id, count):
        free = await _free(session, customer.reseller_id)
        message = (
            "Your organisation holds no connection licences to give."
            if free is None
            else f"Your organisation has {max(free, 0)} free connection licence(s) (not in use by its own connections)."
        )
        raise DomainError(Code.NOT_ENOUGH_LICENCES, message, "count")
    await _add(session, customer.organisation_id, count)
    return customer, await _recorded(session, context, "customer.licences_given", customer, count)


async def take_back(session: AsyncSession, context: Context, customer_id: str, count: int) -> tuple[pt.Customer, int]:
    """Move `count` of the customer's licences back to the reseller; never those in use by its active connections."""
    _check_count(count)
    customer = await visible_customer(session, context, customer_id, "customerId")
    # the reseller's row first, as give() locks it: the two moves cannot deadlock
    reseller_row = await session.scalar(
        select(LICENCE).where(LICENCE.organisation_id == customer.reseller_id).with_for_update()
    )
    if not await _take(session, customer.organisation_id, count):
        free = await _free(session, customer.organisation_id)
        raise DomainError(
            Code.LICENCES_IN_USE,
            f"The customer has {max(free or 0, 0)} licence(s) not in use by its active connections.",
            "count",
        )
    if reseller_row is not None:  # an unlimited reseller (no row) gets nothing back: it needs none
        await _add(session, customer.reseller_id, count)
    return customer, await _recorded(session, context, "customer.licences_taken_back", customer, count)
