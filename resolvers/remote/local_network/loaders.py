"""DataLoader batch functions of local networks (one SQL statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select

from graph.loaders import by_key
from models import portal as pt
from models import remote as r


@dataclass
class LocationNetworkRow:
    location_id: int
    network: pt.LocationNetwork | None
    has_router: bool
    #: The newest LAN subnet the location's router reported, if any.
    reported_subnet: str | None


async def networks_by_location(context, location_ids: Sequence[int]) -> list[LocationNetworkRow | None]:
    """Each location's own network settings and what its router last reported, in one statement (a window
    over the reports that name a LAN). Unscoped: for locations already checked for visibility."""
    reported = (
        select(
            r.RouterStatusSample.router_id,
            r.RouterStatusSample.lan_subnet,
            func.row_number()
            .over(
                partition_by=r.RouterStatusSample.router_id,
                order_by=(r.RouterStatusSample.taken_at.desc(), r.RouterStatusSample.id.desc()),
            )
            .label("rank"),
        )
        .where(
            r.RouterStatusSample.lan_subnet.is_not(None),
            r.RouterStatusSample.router_id.in_(
                select(r.Location.router_id).where(r.Location.id.in_(location_ids), r.Location.router_id.is_not(None))
            ),
        )
        .subquery()
    )
    statement = (
        select(r.Location.id, r.Location.router_id, pt.LocationNetwork, reported.c.lan_subnet)
        .outerjoin(pt.LocationNetwork, pt.LocationNetwork.location_id == r.Location.id)
        .outerjoin(reported, and_(reported.c.router_id == r.Location.router_id, reported.c.rank == 1))
        .where(r.Location.id.in_(location_ids))
    )
    async with context.session() as session:
        rows = [
            LocationNetworkRow(location_id, network, router_id is not None, subnet)
            for location_id, router_id, network, subnet in (await session.execute(statement)).all()
        ]
    return by_key(rows, location_ids, lambda row: row.location_id)
