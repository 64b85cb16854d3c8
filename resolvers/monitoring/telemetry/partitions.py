"""PostgreSQL only: telemetry_point is partitioned by range of `at`, one partition per UTC day
(telemetry_point_pYYYYMMDD), so that retention drops whole days instead of deleting rows. The purge worker
creates the next days' partitions ahead; ingest creates a missing one for a late point on demand. A DEFAULT
partition (telemetry_point_default, made by migration 0009) catches anything else, e.g. a day whose
partition could not be created; the purge deletes its old rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

PREFIX = "telemetry_point_p"
DEFAULT_PARTITION = "telemetry_point_default"
#: Partitions known to exist in this process: ingest asks the catalogue only for days it has not seen.
_known: set[date] = set()


def partition_name(day: date) -> str:
    return f"{PREFIX}{day:%Y%m%d}"


def day_of(name: str) -> date | None:
    if not name.startswith(PREFIX):
        return None
    try:
        return datetime.strptime(name[len(PREFIX) :], "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        return None


async def existing_partitions(session: AsyncSession) -> set[date]:
    rows = await session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'telemetry_point'::regclass"
        )
    )
    return {day for day in map(day_of, rows) if day is not None}


async def ensure_partitions(session: AsyncSession, moments: Iterable[datetime]) -> None:
    """The day partitions of these moments exist afterwards (or their points go to the default partition)."""
    days = {moment.astimezone(UTC).date() for moment in moments} - _known
    if not days:
        return
    existing = await existing_partitions(session)
    _known.update(existing)
    for day in sorted(days - existing):
        await create_partition(session, day)


async def create_partition(session: AsyncSession, day: date) -> bool:
    """Create one day's partition in a savepoint: another process may have just made it, or the default
    partition may already hold points of that day (then they stay there)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    statement = text(
        f'CREATE TABLE IF NOT EXISTS "{partition_name(day)}" PARTITION OF telemetry_point '
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{(start + timedelta(days=1)).isoformat()}')"
    )
    try:
        async with session.begin_nested():
            await session.execute(statement)
    except DBAPIError:
        return False
    _known.add(day)
    return True


def forget(day: date) -> None:
    _known.discard(day)


def forget_all() -> None:
    """After the schema was dropped and made again (tests)."""
    _known.clear()
