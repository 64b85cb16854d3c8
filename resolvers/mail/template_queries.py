"""E-mail template queries: the list of templates the caller can use and change, and node lookup."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from sqlalchemy import or_, select
from strawberry.types import Info

from graph.filters import contains
from graph.loaders import by_key
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from graph.tenancy import visible_organisation_ids
from models.identity import Permission
from models.mail import EmailTemplate as EmailTemplateRow
from resolvers.identity.enums import Language
from resolvers.mail.types import EmailTemplate, EmailTemplateTypeEnum


def reachable(principal):
    """System defaults and the templates of the caller's subtree."""
    return or_(
        EmailTemplateRow.organisation_id.is_(None),
        EmailTemplateRow.organisation_id.in_(visible_organisation_ids(principal)),
    )


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
        statement = select(EmailTemplateRow).where(reachable(info.context.principal))
        if filter is not None:
            if filter.type is not None:
                statement = statement.where(EmailTemplateRow.type == filter.type)
            if filter.is_active is not None:
                statement = statement.where(EmailTemplateRow.is_active.is_(filter.is_active))
            if filter.language is not None:
                statement = statement.where(EmailTemplateRow.language == filter.language.value)
            if filter.name:
                statement = statement.where(contains(EmailTemplateRow.name, filter.name, "filter.name"))
            if filter.is_system_default is not None:
                owner = EmailTemplateRow.organisation_id
                statement = statement.where(owner.is_(None) if filter.is_system_default else owner.is_not(None))
        keys = [SortKey(EmailTemplateRow.name), SortKey(EmailTemplateRow.id)]
        return await paginate(
            info.context, statement, keys, EmailTemplate.from_model, first=first, after=after, last=last, before=before
        )


async def visible_templates(context, ids: Sequence[int]) -> list[EmailTemplateRow | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(EmailTemplateRow).where(EmailTemplateRow.id.in_(ids), reachable(context.principal))
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


NODE_RESOLVERS = {
    "EmailTemplate": (Permission.EMAIL_TEMPLATES_MANAGE, node_loader(visible_templates, EmailTemplate.from_model))
}
