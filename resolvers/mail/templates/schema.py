"""E-mail templates: the list of templates the caller can use and change, and copying, editing, activating,
deleting, previewing and test-sending them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from graph.errors import as_payload
from graph.filters import contains
from graph.lookahead import LookAhead
from graph.mutations import mutate, run_in_transaction
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from graph.rules import unset_if_null
from models.identity import Permission
from models.mail import EmailTemplate as EmailTemplateModel
from resolvers.identity.enums import Language
from resolvers.mail.errors import MailError
from resolvers.mail.templates import rules
from resolvers.mail.templates.loaders import reachable, visible_templates
from resolvers.mail.templates.types import EmailTemplate, EmailTemplateTypeEnum, RenderedEmail

MANAGE = [needs(Permission.EMAIL_TEMPLATES_MANAGE)]
Payload = TypeVar("Payload")
Result = TypeVar("Result")


@strawberry.input(description="Narrow the e-mail templates list; all given conditions must hold.")
class EmailTemplateFilter:
    type: EmailTemplateTypeEnum | None = strawberry.field(default=None, description="Of this type.")  # type: ignore[valid-type]
    is_active: bool | None = strawberry.field(default=None, description="Active or inactive.")
    language: Language | None = strawberry.field(default=None, description="In this language.")
    name: str | None = strawberry.field(default=None, description="Name contains (case-insensitive).")
    is_system_default: bool | None = strawberry.field(
        default=None, description="Only system defaults, or only your own."
    )


@strawberry.type
class TemplateQuery:
    @strawberry.field(
        description="E-mail templates of your organisation and its descendants, and the system defaults, by name.",
        permission_classes=[needs(Permission.EMAIL_TEMPLATES_MANAGE)],
    )
    async def email_templates(
        self,
        info: Info,
        filter: EmailTemplateFilter | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[EmailTemplate]:
        statement = select(EmailTemplateModel).where(reachable(info.context.principal))
        if filter is not None:
            if filter.type is not None:
                statement = statement.where(EmailTemplateModel.type == filter.type)
            if filter.is_active is not None:
                statement = statement.where(EmailTemplateModel.is_active.is_(filter.is_active))
            if filter.language is not None:
                statement = statement.where(EmailTemplateModel.language == filter.language.value)
            if filter.name:
                statement = statement.where(contains(EmailTemplateModel.name, filter.name, "filter.name"))
            if filter.is_system_default is not None:
                owner = EmailTemplateModel.organisation_id
                statement = statement.where(owner.is_(None) if filter.is_system_default else owner.is_not(None))
        keys = [SortKey(EmailTemplateModel.name), SortKey(EmailTemplateModel.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            EmailTemplate.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, EmailTemplate),
        )


@strawberry.input(description="An e-mail template, by ID.")
class EmailTemplateIdInput:
    id: strawberry.ID = strawberry.field(description="The template.")


@strawberry.input(description="Changes to one of your templates; omitted fields stay as they are.")
class EmailTemplateUpdateInput:
    id: strawberry.ID = strawberry.field(description="The template (not a system default).")
    name: str | None = strawberry.field(default=None, description="Name.")
    subject: str | None = strawberry.field(default=None, description="Subject line (jinja2).")
    body_html: str | None = strawberry.field(default=None, description="HTML body (jinja2, variables escaped).")
    body_text: str | None = strawberry.field(default=None, description="Plain-text body (jinja2).")

    def to_fields(self) -> rules.TemplateFields:
        return rules.TemplateFields(
            name=unset_if_null(self.name),
            subject=unset_if_null(self.subject),
            body_html=unset_if_null(self.body_html),
            body_text=unset_if_null(self.body_text),
        )


@strawberry.input(description="Render a template with sample data for you; optionally with unsaved changes.")
class EmailTemplatePreviewInput:
    id: strawberry.ID = strawberry.field(description="The template (system defaults too).")
    subject: str | None = strawberry.field(default=None, description="Preview this subject instead of the saved one.")
    body_html: str | None = strawberry.field(
        default=None, description="Preview this HTML body instead of the saved one."
    )
    body_text: str | None = strawberry.field(
        default=None, description="Preview this text body instead of the saved one."
    )

    def to_draft(self) -> rules.TemplateFields:
        return rules.TemplateFields(
            subject=unset_if_null(self.subject),
            body_html=unset_if_null(self.body_html),
            body_text=unset_if_null(self.body_text),
        )


@strawberry.input(description="Send a template, rendered with sample data for you, to an address.")
class EmailTemplateSendTestInput:
    id: strawberry.ID = strawberry.field(description="The template (system defaults too).")
    to_address: str = strawberry.field(description="Where to send the test mail.")


@strawberry.type(description="An e-mail template after a change.")
class EmailTemplatePayload:
    email_template: EmailTemplate | None = strawberry.field(description="The template, or null when refused.")
    errors: list[MailError] = strawberry.field(description="Why the change was refused.")


@strawberry.type(description="Result of deleting an e-mail template.")
class EmailTemplateDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted template.")
    errors: list[MailError] = strawberry.field(description="Why deletion was refused.")


@strawberry.type(description="A template rendered with sample data.")
class EmailTemplatePreviewPayload:
    preview: RenderedEmail | None = strawberry.field(description="What the recipient would see, or null when refused.")
    errors: list[MailError] = strawberry.field(description="Why the template could not be rendered.")


@strawberry.type(description="A test mail written to the outbox.")
class EmailTemplateSendTestPayload:
    email_template: EmailTemplate | None = strawberry.field(description="The template that was sent.")
    message_id: str | None = strawberry.field(description="Message-ID header of the queued mail.")
    errors: list[MailError] = strawberry.field(description="Why nothing was sent.")


async def mutate_template(
    context: Any,
    payload_type: type[Payload],
    work: Callable[[AsyncSession], Awaitable[Result]],
    ok: Callable[[Result], Payload],
) -> Payload:
    """graph.mutations.mutate for edits that render the template: each problem of a refused template keeps
    its line (MailError.line, which the shared helper does not know)."""
    result = await run_in_transaction(context, work)
    payload = as_payload(payload_type, result, ok)
    if isinstance(result, rules.TemplateRefused):
        for error, problem in zip(payload.errors, result.problems, strict=True):  # type: ignore[attr-defined]
            error.line = problem.line
    return payload


def _template(template: EmailTemplateModel) -> EmailTemplatePayload:
    return EmailTemplatePayload(email_template=EmailTemplate.from_model(template), errors=[])


@strawberry.type
class TemplateMutation:
    @strawberry.mutation(
        description='Copy a template (a system default too) into your organisation: named "COPY OF …", inactive.',
        permission_classes=MANAGE,
    )
    async def email_template_copy(self, info: Info, input: EmailTemplateIdInput) -> EmailTemplatePayload:
        context = info.context
        return await mutate(
            context, EmailTemplatePayload, lambda s: rules.copy_template(s, context, input.id), _template
        )

    @strawberry.mutation(
        description="Edit one of your templates; it must compile and render with sample data (sandboxed jinja2).",
        permission_classes=MANAGE,
    )
    async def email_template_update(self, info: Info, input: EmailTemplateUpdateInput) -> EmailTemplatePayload:
        context = info.context
        return await mutate_template(
            context,
            EmailTemplatePayload,
            lambda s: rules.update_template(s, context, input.id, input.to_fields()),
            _template,
        )

    @strawberry.mutation(
        description=(
            "Use this template for its type and language in its organisation; the one active before is deactivated."
        ),
        permission_classes=MANAGE,
    )
    async def email_template_activate(self, info: Info, input: EmailTemplateIdInput) -> EmailTemplatePayload:
        context = info.context
        return await mutate(
            context, EmailTemplatePayload, lambda s: rules.activate_template(s, context, input.id), _template
        )

    @strawberry.mutation(
        description="Stop using this template: its organisation falls back to its ancestors' or the system default.",
        permission_classes=MANAGE,
    )
    async def email_template_deactivate(self, info: Info, input: EmailTemplateIdInput) -> EmailTemplatePayload:
        context = info.context
        return await mutate(
            context, EmailTemplatePayload, lambda s: rules.deactivate_template(s, context, input.id), _template
        )

    @strawberry.mutation(
        description="Delete one of your templates; not the active one (ACTIVE error) and never a system default.",
        permission_classes=MANAGE,
    )
    async def email_template_delete(self, info: Info, input: EmailTemplateIdInput) -> EmailTemplateDeletePayload:
        context = info.context
        return await mutate(
            context,
            EmailTemplateDeletePayload,
            lambda s: rules.delete_template(s, context, input.id),
            lambda deleted_id: EmailTemplateDeletePayload(deleted_id=strawberry.ID(deleted_id), errors=[]),
        )

    @strawberry.mutation(
        description="Render a template with sample data for you (your name, your organisation); changes nothing.",
        permission_classes=MANAGE,
    )
    async def email_template_preview(self, info: Info, input: EmailTemplatePreviewInput) -> EmailTemplatePreviewPayload:
        context = info.context
        return await mutate_template(
            context,
            EmailTemplatePreviewPayload,
            lambda s: rules.preview_template(s, context, input.id, input.to_draft()),
            lambda mail: EmailTemplatePreviewPayload(
                preview=RenderedEmail(subject=mail.subject, body_html=mail.body_html, body_text=mail.body_text),
                errors=[],
            ),
        )

    @strawberry.mutation(
        description="Send this template, rendered with sample data for you, to an address (through the outbox).",
        permission_classes=MANAGE,
    )
    async def email_template_send_test(
        self, info: Info, input: EmailTemplateSendTestInput
    ) -> EmailTemplateSendTestPayload:
        context = info.context
        return await mutate(
            context,
            EmailTemplateSendTestPayload,
            lambda s: rules.send_test(s, context, input.id, input.to_address),
            lambda sent: EmailTemplateSendTestPayload(
                email_template=EmailTemplate.from_model(sent[0]), message_id=sent[1].message_id, errors=[]
            ),
        )


NODE_RESOLVERS = {
    "EmailTemplate": (Permission.EMAIL_TEMPLATES_MANAGE, node_loader(visible_templates, EmailTemplate.from_model))
}
