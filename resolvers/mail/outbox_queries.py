"""The outbox for platform admins: what was (or will be) sent, each attempt, and resending."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import strawberry
from sqlalchemy import select, update
from strawberry.types import Info

from graph.errors import BadUserInput, DomainError, Forbidden
from graph.filters import contains
from graph.loaders import by_key, group_by
from graph.mutations import run_in_transaction
from graph.permissions import needs
from graph.relay import (
    Connection,
    Node,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
    to_global_id,
)
from graph.tenancy import visible_organisation_ids
from models.base import utcnow
from models.identity import Permission
from models.mail import DeliveryAttempt as DeliveryAttemptModel
from models.mail import OutboxMessage as OutboxMessageModel
from models.mail import OutboxStatus
from resolvers.mail.types import EmailTemplateTypeEnum, MailError, MailErrorCode

OutboxStatusEnum = strawberry.enum(
    OutboxStatus,
    name="OutboxStatus",
    description="Where a mail is on its way: PENDING (waiting for an attempt), SENDING (handed to SMTP), SENT, "
    "FAILED (gave up after the last retry), UNCERTAIN (a worker stopped mid-send; not resent automatically).",
)

#: A mail in these states may be resent by hand; the others are on their way or delivered.
RETRYABLE = (OutboxStatus.FAILED, OutboxStatus.UNCERTAIN)


@strawberry.type(description="One try to hand a mail to the SMTP server.")
class DeliveryAttempt:
    started_at: datetime = strawberry.field(description="When the worker claimed the mail for this attempt.")
    finished_at: datetime | None = strawberry.field(description="When the outcome was recorded; null while in flight.")
    outcome: str = strawberry.field(
        description='"sent", "failed" (see error), "uncertain" (the worker stopped mid-send), or empty while in flight.'
    )
    error: str = strawberry.field(description="Why the attempt failed (never credentials); empty otherwise.")

    @classmethod
    def from_model(cls, row: DeliveryAttemptModel) -> DeliveryAttempt:
        return cls(started_at=row.started_at, finished_at=row.finished_at, outcome=row.outcome, error=row.error)


async def delivery_attempts(context, message_ids: Sequence[int]) -> list[list[DeliveryAttemptModel]]:
    """DataLoader batch: the attempts of many mails in one query, oldest first."""
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(DeliveryAttemptModel)
                .where(DeliveryAttemptModel.message_id.in_(message_ids))
                .order_by(DeliveryAttemptModel.id)
            )
        ).all()
    return group_by([(row.message_id, row) for row in rows], message_ids)


@strawberry.type(
    description="A rendered e-mail in the outbox, written with the action that sends it and delivered by the worker."
)
class OutboxMessage(Node):
    to_address: str = strawberry.field(description="Recipient address.")
    subject: str = strawberry.field(description="Subject as rendered.")
    status: OutboxStatusEnum = strawberry.field(description="Where the mail is on its way.")  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Attempts so far (counted afresh after a manual resend).")
    next_attempt_at: datetime = strawberry.field(description="When a PENDING mail is tried (again) at the earliest.")
    last_error: str = strawberry.field(description="Why the last attempt failed (never credentials); empty otherwise.")
    created_at: datetime = strawberry.field(description="When the mail was written to the outbox.")
    sent_at: datetime | None = strawberry.field(description="When the SMTP server accepted it.")
    template_type: EmailTemplateTypeEnum | None = strawberry.field(description="Which kind of mail it is.")  # type: ignore[valid-type]
    language: str = strawberry.field(description="Language of the template used.")
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: OutboxMessageModel) -> OutboxMessage:
        return cls(
            id=strawberry.ID(to_global_id("OutboxMessage", row.id)),
            to_address=row.to_address,
            subject=row.subject,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            created_at=row.created_at,
            sent_at=row.sent_at,
            template_type=row.template_type,
            language=row.language,
            pk=row.id,
        )

    @strawberry.field(description="Every attempt to deliver it, oldest first.")
    async def delivery_attempts(self, info: Info) -> list[DeliveryAttempt]:
        rows = await info.context.loaders(delivery_attempts).load(self.pk)
        return [DeliveryAttempt.from_model(row) for row in rows]


def _visible_messages(principal):
    # OUTBOX_READ is a platform admin's; should it be granted to someone else, they see only their subtree's mail
    if principal.is_platform_admin:
        return select(OutboxMessageModel)
    return select(OutboxMessageModel).where(OutboxMessageModel.organisation_id.in_(visible_organisation_ids(principal)))


async def visible_outbox_messages(context, ids: Sequence[int]) -> list[OutboxMessageModel | None]:
    async with context.session() as session:
        rows = (await session.scalars(_visible_messages(context.principal).where(OutboxMessageModel.id.in_(ids)))).all()
    return by_key(rows, ids, lambda row: row.id)


@strawberry.input(description="Narrow the outbox; all given conditions must hold.")
class OutboxMessageFilter:
    status: OutboxStatusEnum | None = strawberry.field(default=None, description="In this state.")  # type: ignore[valid-type]
    to_address: str | None = strawberry.field(default=None, description="Recipient contains (case-insensitive).")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Sent on behalf of this organisation."
    )


@strawberry.type
class OutboxQuery:
    @strawberry.field(
        description="Mails in the outbox, newest first. Without an SMTP server configured they stay PENDING here.",
        permission_classes=[needs(Permission.OUTBOX_READ)],
    )
    async def outbox_messages(
        self,
        info: Info,
        filter: OutboxMessageFilter | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[OutboxMessage]:
        statement = _visible_messages(info.context.principal)
        if filter is not None:
            if filter.status is not None:
                statement = statement.where(OutboxMessageModel.status == OutboxStatus(filter.status.value))
            if filter.to_address:
                statement = statement.where(
                    contains(OutboxMessageModel.to_address, filter.to_address, "filter.toAddress")
                )
            if filter.organisation_id is not None:
                pk = decode_id(filter.organisation_id, "Organisation")
                if pk is None:
                    raise BadUserInput("Not an organisation ID.", argument="filter.organisationId")
                statement = statement.where(OutboxMessageModel.organisation_id == pk)
        keys = [SortKey(OutboxMessageModel.id, descending=True)]
        return await paginate(
            info.context, statement, keys, OutboxMessage.from_model, first=first, after=after, last=last, before=before
        )


@strawberry.input(description="Which mail to send again.")
class OutboxMessageRetryInput:
    id: strawberry.ID = strawberry.field(description="ID of an UNCERTAIN or FAILED mail.")


@strawberry.type(description="Result of outboxMessageRetry.")
class OutboxMessageRetryPayload:
    outbox_message: OutboxMessage | None = strawberry.field(description="The mail, PENDING again; null when refused.")
    errors: list[MailError] = strawberry.field(description="Why it was refused; empty on success.")


async def retry(context, global_id: str) -> OutboxMessageModel:
    """An UNCERTAIN or FAILED mail becomes PENDING and due now; its attempts count afresh."""
    pk = decode_id(global_id, "OutboxMessage")

    async def work(session):
        row = None
        if pk is not None:
            row = (
                await session.scalars(_visible_messages(context.principal).where(OutboxMessageModel.id == pk))
            ).first()
        if row is None:
            raise DomainError(MailErrorCode.NOT_FOUND, "No such mail.", "id")
        if row.status not in RETRYABLE:
            raise DomainError(
                MailErrorCode.NOT_ALLOWED,
                f"Only UNCERTAIN or FAILED mails can be resent; this one is {row.status.value}.",
                "id",
            )
        # conditional: a concurrent retry (or anything else) that changed the state first wins
        changed = await session.execute(
            update(OutboxMessageModel)
            .where(OutboxMessageModel.id == row.id, OutboxMessageModel.status == row.status)
            .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=utcnow(), last_error="")
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:
            raise DomainError(MailErrorCode.CONFLICT, "The mail changed meanwhile; look again.", "id")
        from resolvers.audit import services as audit

        await audit.record(
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

    return await run_in_transaction(context, work)


@strawberry.type
class OutboxMutation:
    @strawberry.mutation(
        description="Send an UNCERTAIN or FAILED mail again (platform admins). An UNCERTAIN mail may already have "
        "arrived once: resend it only when you know it did not.",
        permission_classes=[needs(Permission.OUTBOX_READ)],
    )
    async def outbox_message_retry(self, info: Info, input: OutboxMessageRetryInput) -> OutboxMessageRetryPayload:
        if not info.context.principal.is_platform_admin:
            raise Forbidden("Only platform admins may resend mails.")
        result = await retry(info.context, input.id)
        if isinstance(result, DomainError):
            return OutboxMessageRetryPayload(
                outbox_message=None, errors=[MailError(code=result.code, field=result.field, message=result.message)]
            )
        return OutboxMessageRetryPayload(outbox_message=OutboxMessage.from_model(result), errors=[])


NODE_RESOLVERS = {
    "OutboxMessage": (Permission.OUTBOX_READ, node_loader(visible_outbox_messages, OutboxMessage.from_model))
}
