"""E-mail template rules: who reaches which template, copy, edit, activate, delete, preview, test mail.

A caller reaches the templates of their organisation's subtree and the system defaults (platform
admins: all). System defaults are read-only. Functions take an open session in a transaction and
raise DomainError (or TemplateRefused) for refused input, which rolls the transaction back.
ensure_system_templates installs the shipped defaults when the server starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError, DomainErrors
from graph.relay import decode_id
from graph.rules import UNSET, clean_text
from graph.tenancy import path_visible
from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from models.mail import EmailTemplate, OutboxMessage
from resolvers.audit.rules import record
from resolvers.identity.accounts import clean_email, signed_in
from resolvers.mail import rendering
from resolvers.mail.defaults import DEFAULTS
from resolvers.mail.errors import MailErrorCode as Code
from resolvers.mail.sending import write_outbox

COPY_PREFIX = "COPY OF "
MAX_NAME = 200
MAX_SUBJECT = 500
MAX_BODY = 100_000


class TemplateRefused(DomainErrors):
    """The template does not pass rendering.check(): one TEMPLATE_INVALID per problem, with its field and line
    (the payload's MailError shows the line: see resolvers.mail.templates.schema)."""

    def __init__(self, problems: list[rendering.TemplateProblem]) -> None:
        super().__init__(
            [
                DomainError(
                    Code.TEMPLATE_INVALID,
                    f"line {problem.line}: {problem.reason}" if problem.line else problem.reason,
                    problem.field,
                )
                for problem in problems
            ]
        )
        self.problems = problems


@dataclass
class TemplateFields:
    """A partial update (or a draft to preview): UNSET parts keep the stored ones."""

    name: str = UNSET
    subject: str = UNSET
    body_html: str = UNSET
    body_text: str = UNSET


def _text(value: str, stored: str, field: str, max_length: int, *, strip: bool = False) -> str:
    """The given text, checked (template parts keep their whitespace), or the stored one when not given."""
    return stored if value is UNSET else clean_text(value, field, max_length=max_length, strip=strip)


async def reachable_template(
    session: AsyncSession, principal: Principal, global_id: str, field: str = "id"
) -> EmailTemplate:
    """A system default, or a template of the caller's subtree; anything else reads as unknown."""
    pk = decode_id(global_id, "EmailTemplate")
    row = (
        (
            await session.execute(
                select(EmailTemplate, m.Organisation.path)
                .outerjoin(m.Organisation, m.Organisation.id == EmailTemplate.organisation_id)
                .where(EmailTemplate.id == pk)
            )
        ).one_or_none()
        if pk is not None
        else None
    )
    if row is None or (row[0].organisation_id is not None and not path_visible(principal, row[1])):
        raise DomainError(Code.NOT_FOUND, "no such e-mail template", field)
    return row[0]


async def own_template(session: AsyncSession, principal: Principal, global_id: str) -> EmailTemplate:
    """A template the caller may change: reachable and not a system default."""
    template = await reachable_template(session, principal, global_id)
    if template.organisation_id is None:
        raise DomainError(
            Code.SYSTEM_DEFAULT, "system default templates are read-only: copy it and change the copy", "id"
        )
    return template


async def _audit(session: AsyncSession, context: Context, action: str, template: EmailTemplate, **details: Any) -> None:
    await record(
        session,
        context,
        f"email_template.{action}",
        organisation_id=template.organisation_id,
        target_type="EmailTemplate",
        target_id=template.id,
        details={"name": template.name, "type": template.type.value, "language": template.language, **details},
    )


async def copy_template(session: AsyncSession, context: Context, global_id: str) -> EmailTemplate:
    principal = signed_in(context)
    source = await reachable_template(session, principal, global_id)
    copy = EmailTemplate(
        organisation_id=principal.organisation_id,
        name=(COPY_PREFIX + source.name)[:MAX_NAME],
        type=source.type,
        language=source.language,
        is_active=False,  # a copy is a draft until activated
        subject=source.subject,
        body_html=source.body_html,
        body_text=source.body_text,
    )
    session.add(copy)
    await session.flush()
    await _audit(session, context, "copied", copy, sourceId=source.id)
    return copy


async def update_template(
    session: AsyncSession, context: Context, global_id: str, fields: TemplateFields
) -> EmailTemplate:
    template = await own_template(session, signed_in(context), global_id)
    name = _text(fields.name, template.name, "name", MAX_NAME, strip=True)
    subject = _text(fields.subject, template.subject, "subject", MAX_SUBJECT)
    body_html = _text(fields.body_html, template.body_html, "bodyHtml", MAX_BODY)
    body_text = _text(fields.body_text, template.body_text, "bodyText", MAX_BODY)
    problems = rendering.check(template.type, subject, body_html, body_text)
    if problems:
        raise TemplateRefused(problems)
    changed = [
        field
        for field, old, new in (
            ("name", template.name, name),
            ("subject", template.subject, subject),
            ("bodyHtml", template.body_html, body_html),
            ("bodyText", template.body_text, body_text),
        )
        if old != new
    ]
    template.name, template.subject, template.body_html, template.body_text = name, subject, body_html, body_text
    if changed:
        template.updated_at = utcnow()
        await session.flush()
        await _audit(session, context, "updated", template, fields=changed)
    return template


async def activate_template(session: AsyncSession, context: Context, global_id: str) -> EmailTemplate:
    template = await own_template(session, signed_in(context), global_id)
    if template.is_active:
        return template
    # the other one first: the partial unique index allows one active per organisation x type x language
    await session.execute(
        update(EmailTemplate)
        .where(
            EmailTemplate.organisation_id == template.organisation_id,
            EmailTemplate.type == template.type,
            EmailTemplate.language == template.language,
            EmailTemplate.is_active.is_(True),
        )
        .values(is_active=False, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    template.is_active = True
    template.updated_at = utcnow()
    try:
        await session.flush()
    except IntegrityError as error:  # a concurrent activation committed its template in between
        raise DomainError(Code.CONFLICT, "another template was activated at the same time; try again", "id") from error
    await _audit(session, context, "activated", template)
    return template


async def deactivate_template(session: AsyncSession, context: Context, global_id: str) -> EmailTemplate:
    template = await own_template(session, signed_in(context), global_id)
    if template.is_active:
        template.is_active = False
        template.updated_at = utcnow()
        await session.flush()
        await _audit(session, context, "deactivated", template)
    return template


async def delete_template(session: AsyncSession, context: Context, global_id: str) -> str:
    template = await own_template(session, signed_in(context), global_id)
    if template.is_active:
        raise DomainError(
            Code.ACTIVE,
            "this is the active template of its type and language: activate another one or deactivate it first",
            "id",
        )
    await _audit(session, context, "deleted", template)
    await session.delete(template)
    await session.flush()
    return global_id


async def sample_variables(session: AsyncSession, principal: Principal, template: EmailTemplate) -> dict[str, Any]:
    """The type's sample data, addressed to the caller: their name and their organisation's."""
    user = await session.get(m.User, principal.user_id)
    organisation = await session.get(m.Organisation, principal.organisation_id)
    # the caller's rows: a deleted user's tokens no longer authenticate, an organisation goes only with its users
    assert user is not None and organisation is not None
    return {
        **rendering.SAMPLE_VARIABLES[template.type],
        "recipient_name": user.name,
        "organisation_name": organisation.name,
    }


async def preview_template(
    session: AsyncSession, context: Context, global_id: str, draft: TemplateFields | None = None
) -> rendering.RenderedMail:
    """The template rendered for the caller; `draft` replaces parts of it (to preview an edit before saving)."""
    principal = signed_in(context)
    template = await reachable_template(session, principal, global_id)
    draft = draft or TemplateFields()
    subject = _text(draft.subject, template.subject, "subject", MAX_SUBJECT)
    body_html = _text(draft.body_html, template.body_html, "bodyHtml", MAX_BODY)
    body_text = _text(draft.body_text, template.body_text, "bodyText", MAX_BODY)
    problems = rendering.check(template.type, subject, body_html, body_text)
    if problems:
        raise TemplateRefused(problems)
    return rendering.render(subject, body_html, body_text, await sample_variables(session, principal, template))


#: Test mails per user and hour: a test mail goes to any address, so it must not become a way to send spam.
SEND_TEST_PER_HOUR = 10


async def send_test(
    session: AsyncSession, context: Context, global_id: str, to_address: str
) -> tuple[EmailTemplate, OutboxMessage]:
    """Write THIS template (not the one resolution would pick), rendered for the caller, to the outbox."""
    principal = signed_in(context)
    template = await reachable_template(session, principal, global_id)
    address = clean_email(to_address, "toAddress")
    # counted from the audit trail, which records every test mail with its sender
    sent_last_hour = (
        await session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.actor_user_id == principal.user_id,
                AuditEvent.action == "email_template.test_sent",
                AuditEvent.created_at >= utcnow() - timedelta(hours=1),
            )
        )
    ).scalar_one()
    if sent_last_hour >= SEND_TEST_PER_HOUR:
        raise DomainError(
            Code.RATE_LIMITED, f"At most {SEND_TEST_PER_HOUR} test mails per hour; try again later.", "toAddress"
        )
    rendered = rendering.render(
        template.subject, template.body_html, template.body_text, await sample_variables(session, principal, template)
    )
    message = await write_outbox(
        session,
        organisation_id=principal.organisation_id,
        template_type=template.type,
        language=template.language,
        to_address=address,
        rendered=rendered,
        subject_limit=MAX_SUBJECT,  # long variable values must not break the column
    )
    await record(
        session,
        context,
        "email_template.test_sent",
        organisation_id=principal.organisation_id,
        target_type="EmailTemplate",
        target_id=template.id,
        details={
            "name": template.name,
            "type": template.type.value,
            "language": template.language,
            "toAddress": address,
            "outboxMessageId": message.id,
        },
    )
    return template, message


async def ensure_system_templates(session: AsyncSession) -> int:
    """Insert the shipped defaults that are missing (type x language); returns how many were added."""
    existing = set(
        (
            await session.execute(
                select(EmailTemplate.type, EmailTemplate.language).where(EmailTemplate.organisation_id.is_(None))
            )
        ).all()
    )
    added = 0
    for template_type, languages in DEFAULTS.items():
        for language, (subject, body_html, body_text) in languages.items():
            if (template_type, language) in existing:
                continue
            session.add(
                EmailTemplate(
                    organisation_id=None,
                    name=f"System default {template_type.value} ({language})",
                    type=template_type,
                    language=language,
                    is_active=True,
                    subject=subject,
                    body_html=body_html,
                    body_text=body_text,
                )
            )
            added += 1
    await session.flush()
    return added
