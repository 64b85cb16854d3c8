"""Login throttling: every attempt is counted on its keys (account, client address) before it is checked.

Failures slow further attempts down, then lock the key for a while; a success gives the count back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.db import insert_or_ignore, lock_row
from graph.errors import DomainError
from graph.settings import Settings
from models import identity as m
from models.base import utcnow
from resolvers.identity.errors import IdentityErrorCode as Code


async def take_turns(session: AsyncSession, key: str) -> None:
    """Make the transactions that pass the same `key` take turns until they end, so that a limit they count and
    then write holds under concurrency (codes per address, sign-in starts per address). A throttle row is the
    lock's anchor only: on SQLite its insert takes the write lock, on PostgreSQL the row lock follows."""
    await insert_or_ignore(session, m.LoginThrottle, key=key, failures=0, last_failure_at=utcnow())
    await lock_row(session, m.LoginThrottle, key)


def throttle_keys(email: str, client_address: str) -> list[str]:
    return [f"account:{email}"] + ([f"address:{client_address}"] if client_address else [])


@dataclass
class _Counted:
    """One throttle key as an attempt found and left it, so that the count can be given back."""

    key: str
    existed: bool
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None
    counted_failures: int
    counted_at: datetime


@dataclass
class Attempt:
    """An attempt that was counted on every throttle key before its password is checked."""

    keys: list[str]
    counted: list[_Counted]


def _refusal(settings: Settings, row: m.LoginThrottle, now: datetime) -> DomainError | None:
    if row.locked_until and row.locked_until > now:
        seconds = int((row.locked_until - now).total_seconds()) + 1
        return DomainError(Code.ACCOUNT_LOCKED, f"too many failed logins; try again in {seconds} s")
    if row.failures >= settings.login_slowdown_after:
        wait = timedelta(seconds=2 ** (row.failures - settings.login_slowdown_after))
        if row.last_failure_at + wait > now:
            seconds = int((row.last_failure_at + wait - now).total_seconds()) + 1
            return DomainError(Code.TOO_MANY_ATTEMPTS, f"too many failed logins; wait {seconds} s")
    return None


async def _count_on(
    session: AsyncSession, settings: Settings, keys: list[str], now: datetime
) -> list[_Counted] | DomainError:
    window = timedelta(seconds=settings.login_lock_seconds)
    inserted = set()
    for key in keys:
        # The first write of the transaction: on SQLite it takes the database's write lock, so that what is
        # read below is current and stays so until commit. Concurrent attempts must not collide on insert.
        if await insert_or_ignore(session, m.LoginThrottle, key=key, failures=0, last_failure_at=now):
            inserted.add(key)
    rows = (
        await session.scalars(
            select(m.LoginThrottle)
            .where(m.LoginThrottle.key.in_(keys))
            .order_by(m.LoginThrottle.key)
            .with_for_update()
            .execution_options(populate_existing=True)  # PostgreSQL: row locks, newest values
        )
    ).all()
    for row in rows:
        refusal = _refusal(settings, row, now)
        if refusal is not None:
            return refusal
    counted = []
    for row in rows:
        before = _Counted(row.key, row.key not in inserted, row.failures, row.last_failure_at, row.locked_until, 0, now)
        if row.last_failure_at + window < now:
            row.failures = 0  # an old streak of failures is forgotten
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= settings.login_lock_after:
            row.locked_until = now + window
        before.counted_failures = row.failures
        counted.append(before)
    await session.flush()
    return counted


async def count_attempt(context: Context, keys: list[str]) -> Attempt | DomainError:
    """Count a login (or reauthentication) attempt on every throttle key before its password is checked.

    Atomic on both databases (row locks on PostgreSQL, the write lock on SQLite), in a short transaction
    of its own that commits at once: N parallel guesses count N, and once the count reaches the slow-down
    or the lock, further attempts are refused here, unevaluated and uncounted (as one at a time). The
    failure of the attempt is then already counted; a success or a request for the TOTP code gives the
    count back (`give_back`). Call it before the request's own session touches the database (one
    connection per request at a time).
    """
    async with context.runtime.session_factory() as session:
        try:
            result = await _count_on(session, context.runtime.settings, keys, utcnow())
        except BaseException:
            await session.rollback()
            raise
        if isinstance(result, DomainError):
            await session.rollback()  # a refused attempt is not counted, and leaves no new rows
            return result
        await session.commit()
    return Attempt(keys=keys, counted=result)


async def give_back(session: AsyncSession, attempt: Attempt, *, reset_account: bool) -> None:
    """Undo the count of an attempt that was not a failure; `reset_account`: a success resets the account.

    The counter is restored exactly when no other attempt was counted since (always so, one at a time);
    otherwise only this attempt's one is taken off, and a lock that the other attempts completed stays.
    """
    LT = m.LoginThrottle
    for index, counted in enumerate(attempt.counted):
        if reset_account and index == 0:
            await session.execute(delete(LT).where(LT.key == counted.key))
            continue
        untouched = (
            LT.key == counted.key,
            LT.failures == counted.counted_failures,
            LT.last_failure_at == counted.counted_at,
        )
        if counted.existed:
            restored = await session.execute(
                update(LT)
                .where(*untouched)
                .values(
                    failures=counted.failures,
                    last_failure_at=counted.last_failure_at,
                    locked_until=counted.locked_until,
                )
                .execution_options(synchronize_session=False)
            )
        else:
            restored = await session.execute(delete(LT).where(*untouched).execution_options(synchronize_session=False))
        if cast(CursorResult[Any], restored).rowcount == 0:
            await session.execute(
                update(LT)
                .where(LT.key == counted.key, LT.failures > 0)
                .values(failures=LT.failures - 1)
                .execution_options(synchronize_session=False)
            )
