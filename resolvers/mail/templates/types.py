"""GraphQL types of e-mail templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import mail as mail_models
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.enums import Language
from resolvers.identity.organisations.types import Organisation

EmailTemplateTypeEnum = strawberry.enum(
    mail_models.TemplateType,
    name="EmailTemplateType",
    description="What an e-mail is for; each type is rendered with its own variables.",
)


@strawberry.type(description="A template rendered with sample data: what a recipient would see.")
class RenderedEmail:
    subject: str = strawberry.field(description="The subject line.")
    body_html: str = strawberry.field(description="The HTML body (variables HTML-escaped).")
    body_text: str = strawberry.field(description="The plain-text body.")


@strawberry.type(
    description="An e-mail template: subject, HTML and text bodies written in jinja2 (sandboxed). Mails use the active "
    "template of the recipient's organisation in their language, else the nearest ancestor's, else the system default."
)
class EmailTemplate(Node):
    name: str = strawberry.field(description="Name, shown in lists.")
    type: EmailTemplateTypeEnum = strawberry.field(description="Which mail it is for.")  # type: ignore[valid-type]
    language: Language = strawberry.field(description="Language of the text.")
    is_active: bool = strawberry.field(
        description="The organisation uses this template for its type and language (at most one at a time). "
        "System defaults are always active: they are the fallback when an organisation has none of its own."
    )
    is_system_default: bool = strawberry.field(
        description="Shipped with the platform and read-only; copy it to customise."
    )
    subject: str = strawberry.field(description="Subject line (jinja2).")
    body_html: str = strawberry.field(description="HTML body (jinja2; variables are HTML-escaped).")
    body_text: str = strawberry.field(description="Plain-text body (jinja2).")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int | None]
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: mail_models.EmailTemplate) -> EmailTemplate:
        return cls(
            id=strawberry.ID(to_global_id("EmailTemplate", row.id)),
            name=row.name,
            type=row.type,
            language=Language(row.language),
            is_active=row.is_active,
            is_system_default=row.organisation_id is None,
            subject=row.subject,
            body_html=row.body_html,
            body_text=row.body_text,
            created_at=row.created_at,
            updated_at=row.updated_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="The organisation that owns it; null for system defaults.")
    # unscoped loader: the template itself was checked for visibility, and its owner is in the caller's subtree
    @relation(
        Batched(
            identity_loaders.organisations, key=lambda template: template.organisation_pk, build=Organisation.from_model
        )
    )
    def organisation(self, info: Info) -> Organisation | None: ...
