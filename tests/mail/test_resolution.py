"""Which template a mail uses: the recipient's language and organisation, up the tree, then the
system default, then English; and the outbox row written in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import func, select

from models.mail import EmailTemplate, OutboxMessage, TemplateType
from resolvers.mail.sending import enqueue, resolve_template
from tests.factories import add_organisation
from tests.mail.opened import opened

T = TemplateType.INVITE_USER


def own(organisation, language: str, subject: str) -> EmailTemplate:
    return EmailTemplate(
        organisation_id=organisation.id,
        name=subject,
        type=T,
        language=language,
        is_active=True,
        subject=subject,
        body_html="<p>{{ recipient_name }}</p>",
        body_text="{{ recipient_name }}",
    )


async def test_resolution_order(runtime):
    async with runtime.session_factory() as session, session.begin():
        parent = await add_organisation(session, "Parent")
        child = await add_organisation(session, "Child", parent)
        other = await add_organisation(session, "Other")
        # nothing of their own: the system default in the language, else English
        assert (await resolve_template(session, T, "en", child.id)).organisation_id is None
        session.add_all([own(parent, "fr", "parent fr"), own(parent, "en", "parent en"), own(other, "fr", "other fr")])
        await session.flush()
        assert (await resolve_template(session, T, "fr", child.id)).subject == "parent fr"  # up the tree
        session.add(own(child, "fr", "child fr"))
        await session.flush()
        assert (await resolve_template(session, T, "fr", child.id)).subject == "child fr"  # nearest first
        assert (await resolve_template(session, T, "en", child.id)).subject == "parent en"
        # a language nobody has falls back to English, the organisation's own English first
        assert (await resolve_template(session, T, "xx", child.id)).subject == "parent en"
        # another tenant's template is never used
        assert (await resolve_template(session, T, "fr", parent.id)).subject == "parent fr"


async def test_enqueue_renders_into_the_outbox_in_the_callers_transaction(runtime):
    async with runtime.session_factory() as session:
        async with session.begin():
            organisation = await add_organisation(session, "Tenant")
        async with session.begin():
            message = await enqueue(
                session,
                to_address="erika@example.org",
                template_type=T,
                language="en",
                organisation_id=organisation.id,
                variables={
                    "recipient_name": "<Erika>",
                    "organisation_name": "Tenant",
                    "inviter_name": "Max",
                    "link": "https://x.example/r?token=t",
                    "valid_hours": 72,
                },
            )
            mail = opened(runtime, message)  # stored sealed
            assert "&lt;Erika&gt;" in mail.body_html and "<Erika>" in mail.body_text
            assert message.subject == "Max invites you to Tenant"
            await session.rollback()
        # rolled back with the action: no mail
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_a_template_that_fails_on_real_data_falls_back_to_the_system_default(runtime):
    """Saved templates are checked with sample data; real data can still break one (here: a branch
    the sample never takes). The mail must still go out, with the system default."""
    async with runtime.session_factory() as session, session.begin():
        organisation = await add_organisation(session, "Tenant")
        template = own(organisation, "en", "custom")
        template.body_text = "{% if valid_hours > 100 %}{{ missing_variable }}{% endif %}ok"
        session.add(template)
        await session.flush()
        message = await enqueue(
            session,
            to_address="erika@example.org",
            template_type=T,
            language="en",
            organisation_id=organisation.id,
            variables={
                "recipient_name": "Erika",
                "organisation_name": "Tenant",
                "inviter_name": "Max",
                "link": "https://x.example/r?token=t",
                "valid_hours": 500,
            },
        )
        assert message.subject == "Max invites you to Tenant"  # the system default's subject, not "custom"
