"""GraphQL types of the outbox: mails and their delivery attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.errors import Forbidden
from graph.lookahead import Batched, relation
from graph.permissions import require_principal
from graph.relay import Node, to_global_id
from models.mail import DeliveryAttempt as DeliveryAttemptModel
from models.mail import OutboxMessage as OutboxMessageModel
from models.mail import OutboxStatus
from resolvers.mail.outbox import loaders
from resolvers.mail.sealing import open_body
from resolvers.mail.templates.types import EmailTemplateTypeEnum

OutboxStatusEnum = strawberry.enum(
    OutboxStatus,
    name="OutboxStatus",
    description="Where a mail is on its way: PENDING (waiting for an attempt), SENDING (handed to SMTP), SENT, "
    "FAILED (gave up after the last retry), UNCERTAIN (a worker stopped mid-send; not resent automatically).",
)


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
    message_id: strawberry.Private[str]
    stored_bodies: strawberry.Private[dict[str, str]]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

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
            message_id=row.message_id,
            stored_bodies={"text": row.body_text, "html": row.body_html},
        )

    def _body(self, info: Info, part: str) -> str:
        """A body opened with the master key, for platform admins when nothing else would deliver it."""
        context = info.context
        if not context.runtime.settings.mail_bodies_readable:
            raise Forbidden(
                "Mail bodies are readable only in demo mode or without an SMTP server (FLEETGRAPH_SMTP_HOST)."
            )
        if not require_principal(context).is_platform_admin:
            raise Forbidden("Only platform admins may read mail bodies.")
        return open_body(context.runtime.sealer, self.message_id, part, self.stored_bodies[part])

    @strawberry.field(
        description="The plain-text body, links included; empty once delivered. Platform admins, and only in demo "
        "mode or without an SMTP server (FLEETGRAPH_SMTP_HOST empty); otherwise FORBIDDEN."
    )
    def body_text(self, info: Info) -> str:
        return self._body(info, "text")

    @strawberry.field(description="The HTML body; empty once delivered. Readable as bodyText is.")
    def body_html(self, info: Info) -> str:
        return self._body(info, "html")

    @strawberry.field(description="Every attempt to deliver it, oldest first.")
    @relation(
        Batched(loaders.delivery_attempts, key=lambda message: message.pk, build=DeliveryAttempt.from_model, many=True)
    )
    def delivery_attempts(self, info: Info) -> list[DeliveryAttempt]: ...
