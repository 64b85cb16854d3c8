"""Who sees which cases and calls, and their batch functions (one SQL statement per batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import by_key, rows_by_id
from graph.relay import SortKey, parent_pages
from models import cases as cs
from models import identity as m
from models import remote as r
from resolvers.remote.scope import location_visible


def case_visible(principal) -> ColumnElement[bool]:
    """Cases at the locations the caller sees (resolvers.remote.scope): a location's visibility is its cases'."""
    return cs.Case.location_id.in_(select(r.Location.id).where(location_visible(principal)))


def call_visible(principal) -> ColumnElement[bool]:
    return cs.CaseCall.case_id.in_(select(cs.Case.id).where(case_visible(principal)))


visible_cases = rows_by_id(cs.Case, case_visible)
visible_calls = rows_by_id(cs.CaseCall, call_visible)
#: The case of a call the caller already sees.
cases = rows_by_id(cs.Case)

#: The calls of a case, in the order they happened.
CALL_ORDER = (SortKey(cs.CaseCall.started_at), SortKey(cs.CaseCall.id))


def _calls_of_seen_cases(principal) -> Select[Any]:
    # the parents (cases) were checked when they were read
    return select(cs.CaseCall)


call_pages = parent_pages(cs.CaseCall, cs.CaseCall.case_id, CALL_ORDER, _calls_of_seen_cases)


async def call_totals(context, case_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(number of calls, minutes worked: the sum of their durations) per case."""
    statement = (
        select(cs.CaseCall.case_id, func.count(), func.coalesce(func.sum(cs.CaseCall.duration_minutes), 0))
        .where(cs.CaseCall.case_id.in_(case_ids))
        .group_by(cs.CaseCall.case_id)
    )
    async with context.session() as session:
        totals = {pk: (count, int(minutes)) for pk, count, minutes in (await session.execute(statement)).all()}
    return [totals.get(pk, (0, 0)) for pk in case_ids]


async def users_with_paths(context, user_ids: Sequence[int]) -> list[tuple[m.User, str] | None]:
    """Users named by a case or call the caller sees, with their organisation's path (outsiders show less)."""
    statement = (
        select(m.User, m.Organisation.path)
        .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
        .where(m.User.id.in_(user_ids))
    )
    async with context.session() as session:
        rows = [tuple(row) for row in (await session.execute(statement)).all()]
    return by_key(rows, user_ids, lambda row: row[0].id)
