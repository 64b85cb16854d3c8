"""An organisation's default case statuses and activity types (the manual's §19 and §20), created once.

They are created the first time the organisation needs them (listing them, creating a case, a status or an
activity type): one conditional INSERT of the organisation's seed row decides, so parallel requests create
them once, and a default deleted later does not come back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.db import insert_or_ignore
from graph.mutations import run_in_transaction
from models import cases as cs

#: (name, description, sequence, closes the case), in the manual's words.
DEFAULT_STATUSES = (
    ("Open", "The case is open and can still be edited.", 10, False),
    ("Waiting on customer", "The case is ready for the customer.", 20, False),
    ("Waiting on us", "The case is ready for us.", 30, False),
    ("Closed", "The case is closed and can no longer be edited.", 40, True),
)
DEFAULT_ACTIVITY_TYPES = (
    ("Software update", "A software update is being done or was just done."),
    ("Malfunction", "Something malfunctioned."),
    ("Checking", "A check was done."),
    ("Guidance", "The customer was given an explanation of a problem."),
    ("Maintenance", "Maintenance was done."),
)


async def ensure_defaults(session: AsyncSession, organisation_id: int) -> bool:
    """Create the organisation's defaults unless they were created before; True if this call created them."""
    # On PostgreSQL a parallel insert of the same key waits for the first transaction, then does nothing;
    # SQLite serialises writers. Either way exactly one insert counts a row.
    if not await insert_or_ignore(session, cs.CaseSettingsSeed, organisation_id=organisation_id):
        return False
    session.add_all(
        cs.CaseStatus(
            organisation_id=organisation_id, name=name, description=description, sequence=sequence, closes_case=closes
        )
        for name, description, sequence, closes in DEFAULT_STATUSES
    )
    session.add_all(
        cs.ActivityType(organisation_id=organisation_id, name=name, description=description)
        for name, description in DEFAULT_ACTIVITY_TYPES
    )
    await session.flush()
    return True


async def ensure_defaults_for_read(context: Any, organisation_id: int) -> None:
    """Before a list of an organisation's statuses or types: create the defaults in a transaction of their own
    the first time (one SELECT after that)."""
    async with context.session() as session:
        seeded = await session.scalar(select(exists().where(cs.CaseSettingsSeed.organisation_id == organisation_id)))
    if not seeded:
        await run_in_transaction(context, lambda session: ensure_defaults(session, organisation_id))
