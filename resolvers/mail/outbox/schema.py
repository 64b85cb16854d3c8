"""The outbox for platform admins: what was (or will be) sent, each attempt, and resending."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import Forbidden
from graph.filters import contains
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from models.identity import Permission
from models.mail import OutboxMessage as OutboxMessageModel
from models.mail import OutboxStatus
from resolvers.identity.lookups import organisation_filter_pk
from resolvers.mail.errors import MailError
from resolvers.mail.outbox import rules
from resolvers.mail.outbox.loaders import message_visible, visible_outbox_messages
from resolvers.mail.outbox.types import OutboxMessage, OutboxStatusEnum


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
        statement = select(OutboxMessageModel).where(message_visible(info.context.principal))
        if filter is not None:
            if filter.status is not None:
                statement = statement.where(OutboxMessageModel.status == OutboxStatus(filter.status.value))
            if filter.to_address:
                statement = statement.where(
                    contains(OutboxMessageModel.to_address, filter.to_address, "filter.toAddress")
                )
            if filter.organisation_id is not None:
                pk = organisation_filter_pk(filter.organisation_id, "filter.organisationId")
                statement = statement.where(OutboxMessageModel.organisation_id == pk)
        keys = [SortKey(OutboxMessageModel.id, descending=True)]
        return await paginate(
            info.context,
            statement,
            keys,
            OutboxMessage.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, OutboxMessage),
        )


@strawberry.input(description="Which mail to send again.")
class OutboxMessageRetryInput:
    id: strawberry.ID = strawberry.field(description="ID of an UNCERTAIN or FAILED mail.")


@strawberry.type(description="Result of outboxMessageRetry.")
class OutboxMessageRetryPayload:
    outbox_message: OutboxMessage | None = strawberry.field(description="The mail, PENDING again; null when refused.")
    errors: list[MailError] = strawberry.field(description="Why it was refused; empty on success.")


@strawberry.type
class OutboxMutation:
    @strawberry.mutation(
        description="Send an UNCERTAIN or FAILED mail again (platform admins). An UNCERTAIN mail may already have "
        "arrived once: resend it only when you know it did not.",
        permission_classes=[needs(Permission.OUTBOX_READ)],
    )
    async def outbox_message_retry(self, info: Info, input: OutboxMessageRetryInput) -> OutboxMessageRetryPayload:
        context = info.context
        if not context.principal.is_platform_admin:
            raise Forbidden("Only platform admins may resend mails.")
        return await mutate(
            context,
            OutboxMessageRetryPayload,
            lambda s: rules.retry(s, context, input.id),
            lambda row: OutboxMessageRetryPayload(outbox_message=OutboxMessage.from_model(row), errors=[]),
        )


NODE_RESOLVERS = {
    "OutboxMessage": (Permission.OUTBOX_READ, node_loader(visible_outbox_messages, OutboxMessage.from_model))
}
