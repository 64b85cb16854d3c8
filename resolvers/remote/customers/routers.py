"""A reseller hands its own routers to its customers (manual §24.2) and takes back those no customer placed.

A router at a customer's location is the customer's working set-up: it cannot be taken back (the customer takes
it off the location first). A router is handed on from the reseller's own routers only: not from another
organisation of its subtree, and not one at a location."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from models import portal as pt
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.customers.rules import visible_customer
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.scope import visible_router


async def _not_placed(session: AsyncSession, router: r.Router, message: str) -> None:
    if await session.scalar(select(exists().where(r.Location.router_id == router.id))):
        raise DomainError(Code.ROUTER_IN_USE, message, "routerId")


async def _moved(session: AsyncSession, context: Context, router: r.Router, to: int, action: str) -> r.Router:
    previous = router.organisation_id
    router.organisation_id = to
    await session.flush()
    await record(
        session,
        context,
        action,
        organisation_id=require_principal(context).organisation_id,
        target_type="Router",
        target_id=router.id,
        details={"commonName": router.common_name, "from": previous, "to": to},
    )
    return router


async def assign_to_customer(session: AsyncSession, context: Context, router_id: str, customer_id: str) -> r.Router:
    router = await visible_router(session, context, router_id, "routerId", lock=True)
    customer = await visible_customer(session, context, customer_id, "customerId")
    if router.organisation_id != customer.reseller_id:
        raise DomainError(
            Code.WRONG_ORGANISATION, "Only your organisation's own routers can be given to customers.", "routerId"
        )
    await _not_placed(session, router, "The router is at one of your locations: remove it from the location first.")
    return await _moved(session, context, router, customer.organisation_id, "customer.router_assigned")


async def take_back_router(session: AsyncSession, context: Context, router_id: str) -> r.Router:
    router = await visible_router(session, context, router_id, "routerId", lock=True)
    reseller_id = require_principal(context).organisation_id
    customer = await session.get(pt.Customer, router.organisation_id) if router.organisation_id else None
    if customer is None or customer.reseller_id != reseller_id:
        raise DomainError(Code.WRONG_ORGANISATION, "The router is not at one of your customers.", "routerId")
    await _not_placed(
        session, router, "The customer placed the router at a location: it cannot be taken back from there."
    )
    return await _moved(session, context, router, reseller_id, "customer.router_taken_back")
