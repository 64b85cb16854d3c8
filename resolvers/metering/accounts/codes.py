"""One-time codes: 6 digits, valid 10 minutes, stored as Argon2 hashes, single use, at most 5 wrong tries each,
at most 3 per address and purpose in 15 minutes. Issuing a code voids the address's older ones: one live code.

Every try is counted before the code is checked, by one conditional UPDATE (only while unused, unexpired and
under 5 tries), so parallel guesses get at most 5 checks between them; spending is one conditional UPDATE too
(only while unused and unexpired), so of parallel requests with the right code exactly one wins.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.errors import DomainError
from graph.passwords import hash_password, verify_password
from models import identity as m
from models.base import utcnow
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.identity.sessions.throttling import take_turns

CODE_TTL = timedelta(minutes=10)
MAX_WRONG_TRIES = 5
SEND_LIMIT = 3
SEND_WINDOW = timedelta(minutes=15)
C = m.OneTimeCode

INVALID_CODE = "the code is not valid (it may have expired, been used or been mistyped too often)"


async def issue_code(
    session: AsyncSession, purpose: m.CodePurpose, address: str, field: str, user_id: int | None = None
) -> tuple[m.OneTimeCode, str]:
    """A new code for the address (its older ones die): the row and the code, which only the message carries.
    TOO_MANY_ATTEMPTS past the limit, whoever the address belongs to."""
    await take_turns(session, f"code:{address}")  # the send limit holds under concurrency
    now = utcnow()
    recent = (
        await session.execute(
            select(func.count()).where(C.address == address, C.purpose == purpose, C.created_at > now - SEND_WINDOW)
        )
    ).scalar_one()
    if recent >= SEND_LIMIT:
        minutes = int(SEND_WINDOW.total_seconds() // 60)
        raise DomainError(Code.TOO_MANY_ATTEMPTS, f"at most {SEND_LIMIT} codes in {minutes} minutes; wait", field)
    await session.execute(
        update(C).where(C.address == address, C.purpose == purpose, C.used_at.is_(None)).values(used_at=now)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    row = C(
        purpose=purpose,
        address=address,
        user_id=user_id,
        code_hash=await asyncio.to_thread(hash_password, code),
        expires_at=now + CODE_TTL,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row, code


async def spend_code(
    session: AsyncSession, purpose: m.CodePurpose, address: str, code: str, field: str = "code"
) -> m.OneTimeCode | DomainError:
    """Spend the address's live code if `code` is it. A refusal is returned, not raised: a counted try must be
    committed. Unknown address, no live code, wrong code and a lost race all answer alike."""
    invalid = DomainError(Code.INVALID_CREDENTIALS, INVALID_CODE, field)
    if len(code) > 20:
        return invalid
    now = utcnow()
    unspent = (C.used_at.is_(None), C.expires_at > now)
    row = await session.scalar(
        select(C)
        .where(C.address == address, C.purpose == purpose, *unspent, C.failures < MAX_WRONG_TRIES)
        .order_by(C.id.desc())
        .limit(1)
    )
    if row is None:
        return invalid
    # The try is counted before the code is checked, by one conditional UPDATE: of any number of parallel guesses
    # at most MAX_WRONG_TRIES get checked at all. A right code does not give its try back; it spends the code.
    counted = await session.execute(
        update(C)
        .where(C.id == row.id, *unspent, C.failures < MAX_WRONG_TRIES)
        .values(failures=C.failures + 1)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], counted).rowcount != 1:
        return invalid  # guessed out, spent or replaced meanwhile
    if not await asyncio.to_thread(verify_password, row.code_hash, code.strip()):
        return invalid
    spent = await session.execute(
        update(C).where(C.id == row.id, *unspent).values(used_at=now).execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], spent).rowcount != 1:
        return invalid  # a parallel request with this code won
    return row
