"""DataLoader batch functions of customers (one SQL statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from graph.loaders import rows_by_id
from models import remote as r

#: An organisation's licence row (None: no licence, unlimited); for customers already checked for visibility.
licences_by_organisation = rows_by_id(r.ConnectionLicence, key=r.ConnectionLicence.organisation_id)


async def _counts(context, statement, keys: Sequence[int]) -> list[int]:
    async with context.session() as session:
        counted = dict((await session.execute(statement)).all())
    return [counted.get(key, 0) for key in keys]


async def active_connections_by_organisation(context, organisation_ids: Sequence[int]) -> list[int]:
    column = r.RouterConnection.organisation_id
    statement = (
        select(column, func.count())
        .where(column.in_(organisation_ids), r.RouterConnection.ended_at.is_(None))
        .group_by(column)
    )
    return await _counts(context, statement, organisation_ids)


async def routers_by_organisation(context, organisation_ids: Sequence[int]) -> list[int]:
    column = r.Router.organisation_id
    statement = select(column, func.count()).where(column.in_(organisation_ids)).group_by(column)
    return await _counts(context, statement, organisation_ids)
