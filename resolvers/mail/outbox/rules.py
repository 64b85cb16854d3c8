"""Outbox rules: resending a mail by hand. (Writing mail: resolvers.mail.sending; delivering it: the worker.)"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.relay import decode_id
from models.base import utcnow
from models.mail import OutboxMessage, OutboxStatus
from resolvers.audit.rules import record
from resolvers.mail.errors import MailErrorCode as Code
from resolvers.mail.outbox.loaders import message_visible

#: A mail in these states may be resent by hand; the others are on their way or delivered.
RETRYABLE = (OutboxStatus.FAILED, OutboxStatus.UNCERTAIN)


async def retry(session: AsyncSession, context: Context, global_id: str) -> OutboxMessage:
    """An UNCERTAIN or FAILED mail becomes PENDING and due now; its attempts count afresh."""
    pk = decode_id(global_id, "OutboxMessage")
    row = None
    if pk is not None:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.id == pk, message_visible(context.principal))
        )
    if row is None:
        raise DomainError(Code.NOT_FOUND, "No such mail.", "id")
    if row.status not in RETRYABLE:
        raise DomainError(
            Code.NOT_ALLOWED, f"Only UNCERTAIN or FAILED mails can be resent; this one is {row.status.value}.", "id"
        )
    # conditional: a concurrent retry (or anything else) that changed the state first wins
    changed = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id, OutboxMessage.status == row.status)
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=utcnow(), last_error="")
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(Code.CONFLICT, "The mail changed meanwhile; look again.", "id")
    await record(
        session,
        context,
        "outbox_message.retried",
        organisation_id=row.organisation_id,
        target_type="OutboxMessage",
        target_id=row.id,
        details={"previousStatus": row.status.value},
    )
    await session.refresh(row)
    return row
