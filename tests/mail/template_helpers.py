"""E-mail template mutations and the system defaults they start from, as the template tests use them."""

from __future__ import annotations

from sqlalchemy import select

from graph.relay import to_global_id
from models.mail import EmailTemplate, TemplateType

FIELDS = (
    "id name type language isActive isSystemDefault subject bodyHtml bodyText organisation { name } createdAt updatedAt"
)
ERRORS = "errors { code field message line }"


def mutation(name: str, input_type: str, selection: str) -> str:
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} {ERRORS} }} }}"


COPY = mutation("emailTemplateCopy", "EmailTemplateIdInput", f"emailTemplate {{ {FIELDS} }}")
UPDATE = mutation("emailTemplateUpdate", "EmailTemplateUpdateInput", f"emailTemplate {{ {FIELDS} }}")


async def system_default(
    runtime, template_type: TemplateType = TemplateType.CONFIRM_EMAIL, language: str = "de"
) -> str:
    async with runtime.session_factory() as session:
        pk = await session.scalar(
            select(EmailTemplate.id).where(
                EmailTemplate.organisation_id.is_(None),
                EmailTemplate.type == template_type,
                EmailTemplate.language == language,
            )
        )
    return to_global_id("EmailTemplate", pk)


async def copy(gql, token: str, source_id: str) -> dict:
    result = await gql(COPY, {"input": {"id": source_id}}, token=token)
    payload = result["data"]["emailTemplateCopy"]
    assert payload["errors"] == [], payload
    return payload["emailTemplate"]
