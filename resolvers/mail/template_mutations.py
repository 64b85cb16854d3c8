"""E-mail template mutations: copy, update, activate, deactivate, delete, preview, send a test mail."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.errors import DomainError
from graph.mutations import run_in_transaction
from graph.permissions import needs
from models.identity import Permission
from resolvers.mail import templates
from resolvers.mail.types import EmailTemplate, MailError, RenderedEmail

MANAGE = [needs(Permission.EMAIL_TEMPLATES_MANAGE)]


def mail_errors(error: DomainError) -> list[MailError]:
    if isinstance(error, templates.TemplateRefused):
        return [
            MailError(
                code=error.code,
                field=[problem.field],
                line=problem.line,
                message=f"line {problem.line}: {problem.reason}" if problem.line else problem.reason,
            )
            for problem in error.problems
        ]
    return [MailError(code=error.code, field=error.field, message=error.message)]


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


def _payload(result) -> EmailTemplatePayload:
    if isinstance(result, DomainError):
        return EmailTemplatePayload(email_template=None, errors=mail_errors(result))
    return EmailTemplatePayload(email_template=EmailTemplate.from_model(result), errors=[])


@strawberry.type
class TemplateMutation:
    @strawberry.mutation(
        description='Copy a template (a system default too) into your organisation: named "COPY OF …", inactive.',
        permission_classes=MANAGE,
    )
    async def email_template_copy(self, info: Info, input: EmailTemplateIdInput) -> EmailTemplatePayload:
        context = info.context
        return _payload(await run_in_transaction(context, lambda s: templates.copy_template(s, context, input.id)))

    @strawberry.mutation(
        description="Edit one of your templates; it must compile and render with sample data (sandboxed jinja2).",
        permission_classes=MANAGE,
    )
    async def email_template_update(self, info: Info, input: EmailTemplateUpdateInput) -> EmailTemplatePayload:
        context = info.context
        fields = templates.TemplateFields(
            name=input.name, subject=input.subject, body_html=input.body_html, body_text=input.body_text
        )
        return _payload(
            await run_in_transaction(context, lambda s: templates.update_template(s, context, input.id, fields))
        )

    @strawberry.mutation(
        description="Use this template for its type and language in its organisation; the one active before is deactivated.",
        permission_classes=MANAGE,
    )
    async def email_template_activate(self, info: Info, input: EmailTemplateIdInput) -> EmailTemplatePayload:
        context = info.context
        return _payload(await run_in_transaction(context, lambda s: templates.activate_template(s, context, input.id)))

    @strawberry.mutation(
        description="Stop using this template: its organisation falls back to its ancestors' or the system default.",
        permission_classes=MANAGE,
    )
    async def email_template_deactivate(self, info: Info, input: EmailTemplateIdInput) -> EmailTemplatePayload:
        context = info.context
        return _payload(
            await run_in_transaction(context, lambda s: templates.deactivate_template(s, context, input.id))
        )

    @strawberry.mutation(
        description="Delete one of your templates; not the active one (ACTIVE error) and never a system default.",
        permission_classes=MANAGE,
    )
    async def email_template_delete(self, info: Info, input: EmailTemplateIdInput) -> EmailTemplateDeletePayload:
        context = info.context
        result = await run_in_transaction(context, lambda s: templates.delete_template(s, context, input.id))
        if isinstance(result, DomainError):
            return EmailTemplateDeletePayload(deleted_id=None, errors=mail_errors(result))
        return EmailTemplateDeletePayload(deleted_id=strawberry.ID(result), errors=[])

    @strawberry.mutation(
        description="Render a template with sample data for you (your name, your organisation); changes nothing.",
        permission_classes=MANAGE,
    )
    async def email_template_preview(self, info: Info, input: EmailTemplatePreviewInput) -> EmailTemplatePreviewPayload:
        context = info.context
        draft = templates.TemplateFields(subject=input.subject, body_html=input.body_html, body_text=input.body_text)
        result = await run_in_transaction(context, lambda s: templates.preview_template(s, context, input.id, draft))
        if isinstance(result, DomainError):
            return EmailTemplatePreviewPayload(preview=None, errors=mail_errors(result))
        return EmailTemplatePreviewPayload(
            preview=RenderedEmail(subject=result.subject, body_html=result.body_html, body_text=result.body_text),
            errors=[],
        )

    @strawberry.mutation(
        description="Send this template, rendered with sample data for you, to an address (through the outbox).",
        permission_classes=MANAGE,
    )
    async def email_template_send_test(
        self, info: Info, input: EmailTemplateSendTestInput
    ) -> EmailTemplateSendTestPayload:
        context = info.context
        result = await run_in_transaction(
            context, lambda s: templates.send_test(s, context, input.id, input.to_address)
        )
        if isinstance(result, DomainError):
            return EmailTemplateSendTestPayload(email_template=None, message_id=None, errors=mail_errors(result))
        template, message = result
        return EmailTemplateSendTestPayload(
            email_template=EmailTemplate.from_model(template), message_id=message.message_id, errors=[]
        )
