"""Running a mutation: one session, one transaction, typed errors instead of partial writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from graph.errors import DomainError, as_payload

Result = TypeVar("Result")
Payload = TypeVar("Payload")


async def run_in_transaction(context: Any, work: Callable[[AsyncSession], Awaitable[Result]]) -> Result | DomainError:
    """Commit what `work` did, or roll all of it back and hand back the DomainError it raised.

    `work` may also return a DomainError to refuse *and* commit (a failed login must be counted).
    """
    if context.reads is not None:
        await context.reads.close()  # one connection at a time: many requests waiting for a second could starve
    try:
        async with context.transaction() as session:
            result = await work(session)
    except DomainError as error:
        return error
    # Committed: rows the request's loaders hold (the caller's own user and organisation, primed at
    # authentication, among them) may predate the change; the payload reads them again.
    await context.after_commit()
    return result


async def mutate(
    context: Any,
    payload_type: type[Payload],
    work: Callable[[AsyncSession], Awaitable[Result]],
    ok: Callable[[Result], Payload],
    **refused_fields: Any,
) -> Payload:
    """The one path of a mutation: run the rule in a transaction, then `ok(result)` or the typed refusal."""
    return as_payload(payload_type, await run_in_transaction(context, work), ok, **refused_fields)
