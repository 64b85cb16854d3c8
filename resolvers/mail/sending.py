"""Sending mail, as other domains do it: which template applies, and writing a mail to the outbox."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import Sealer
from models import identity as m
from models.base import utcnow
from models.mail import EmailTemplate, OutboxMessage, TemplateType
from resolvers.mail import rendering, sealing

FALLBACK_LANGUAGE = "en"
log = logging.getLogger("fleetgraph.mail")


async def resolve_template(
    session: AsyncSession, template_type: TemplateType, language: str, organisation_id: int | None
) -> EmailTemplate:
    """The recipient's organisation's active template in their language, else the nearest ancestor's,
    else the system default in that language, else the English system default."""
    owners: list[int] = []
    if organisation_id is not None:
        organisation = await session.get(m.Organisation, organisation_id)
        assert organisation is not None  # callers pass the recipient's organisation, which exists
        owners = [int(part) for part in reversed(organisation.path.strip("/").split("/"))]
    candidates = (
        await session.scalars(
            select(EmailTemplate).where(
                EmailTemplate.type == template_type,
                EmailTemplate.is_active.is_(True),
                EmailTemplate.language.in_({language, FALLBACK_LANGUAGE}),
                (EmailTemplate.organisation_id.in_(owners) | EmailTemplate.organisation_id.is_(None)),
            )
        )
    ).all()

    def rank(template: EmailTemplate) -> tuple[int, int]:
        # nearest owner first, system default after every organisation; the language before English
        owner_rank = owners.index(template.organisation_id) if template.organisation_id is not None else len(owners)
        return (0 if template.language == language else 1, owner_rank)

    if not candidates:
        raise LookupError(f"no {template_type.value} template, not even a system default")
    return min(candidates, key=rank)


async def enqueue(
    session: AsyncSession,
    *,
    to_address: str,
    template_type: TemplateType,
    language: str,
    organisation_id: int | None,
    variables: dict[str, Any],
) -> OutboxMessage:
    """Render the applicable template and write the mail to the outbox, in the caller's transaction."""
    template = await resolve_template(session, template_type, language, organisation_id)
    try:
        rendered = rendering.render(template.subject, template.body_html, template.body_text, variables)
    except Exception as error:
        log.warning("template %s failed to render (%s); using the system default", template.id, type(error).__name__)
        template = await resolve_template(session, template_type, language, None)
        rendered = rendering.render(template.subject, template.body_html, template.body_text, variables)
    return await write_outbox(
        session,
        organisation_id=organisation_id,
        template_type=template_type,
        language=template.language,
        to_address=to_address,
        rendered=rendered,
        link=variables.get("link"),
    )


#: What a link in a subject becomes: subjects are stored (and listed by outboxMessages) in clear.
SUBJECT_LINK = "[link]"


def session_sealer(session: AsyncSession) -> Sealer:
    """The master key sealer a runtime's sessions carry (graph.db.create_session_factory)."""
    sealer = session.info.get("sealer")
    if sealer is None:
        raise RuntimeError("this session cannot write mail: its session factory was made without the master key sealer")
    return sealer


async def write_outbox(
    session: AsyncSession,
    *,
    organisation_id: int | None,
    template_type: TemplateType | None,
    language: str,
    to_address: str,
    rendered: rendering.RenderedMail,
    link: object = None,
    subject_limit: int | None = None,
) -> OutboxMessage:
    """The one place an outbox row is written: bodies sealed with the master key, bound to the message
    (resolvers.mail.sealing), so the links in them are no use to a database reader; the worker opens
    them to deliver and clears them once sent."""
    sealer = session_sealer(session)
    subject = rendered.subject
    if isinstance(link, str) and link and link in subject:
        subject = subject.replace(link, SUBJECT_LINK)  # a template may put the link in the subject too
    if subject_limit is not None:
        subject = subject[:subject_limit]
    message_id = f"<{secrets.token_hex(16)}@fleetgraph>"
    body_text, body_html = sealing.seal_bodies(sealer, message_id, rendered.body_text, rendered.body_html)
    message = OutboxMessage(
        organisation_id=organisation_id,
        template_type=template_type,
        language=language,
        to_address=to_address,
        subject=subject,
        body_html=body_html,
        body_text=body_text,
        message_id=message_id,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    await session.flush()
    return message
