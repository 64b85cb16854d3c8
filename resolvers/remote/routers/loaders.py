"""DataLoader batch functions of routers (one SQL statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from graph.loaders import by_key, rows_by_id
from models import remote as r
from models.identity import Organisation
from resolvers.remote.scope import router_visible

#: Routers by id, unscoped: only for the router of a location already checked for visibility
#: (a location's router always belongs to the location's organisation).
routers = rows_by_id(r.Router)


visible_routers = rows_by_id(r.Router, router_visible)


async def latest_status(context, router_ids: Sequence[int]) -> list[r.RouterStatusSample | None]:
    """The newest status sample per router, in one statement (a window over the routers' samples)."""
    ranked = (
        select(
            r.RouterStatusSample.id,
            func.row_number()
            .over(
                partition_by=r.RouterStatusSample.router_id,
                order_by=(r.RouterStatusSample.taken_at.desc(), r.RouterStatusSample.id.desc()),
            )
            .label("rank"),
        )
        .where(r.RouterStatusSample.router_id.in_(router_ids))
        .subquery()
    )
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(r.RouterStatusSample)
                .join(ranked, ranked.c.id == r.RouterStatusSample.id)
                .where(ranked.c.rank == 1)
            )
        ).all()
    return by_key(rows, router_ids, lambda row: row.router_id)


async def routers_with_paths(context, router_ids: Sequence[int]) -> list[tuple[r.Router, str] | None]:
    """Each router with its organisation's path ("" while unassigned), unscoped: for the live stream's shared
    loaders (graph.loaders.SharedLoaders); each subscriber checks its rights with resolvers.remote.scope.sees."""
    statement = (
        select(r.Router, func.coalesce(Organisation.path, ""))
        .outerjoin(Organisation, Organisation.id == r.Router.organisation_id)
        .where(r.Router.id.in_(router_ids))
    )
    async with context.session() as session:
        rows = [tuple(row) for row in (await session.execute(statement)).all()]
    return by_key(rows, router_ids, lambda row: row[0].id)
