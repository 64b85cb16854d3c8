"""What the mail domain brings to the server (see graph.domain)."""

from typing import Any

from graph.domain import Domain
from resolvers.mail import gauges
from resolvers.mail.commands import mail_preview
from resolvers.mail.key_rotation import QUEUED_MAILS
from resolvers.mail.outbox import schema as outbox
from resolvers.mail.templates import rules as template_rules
from resolvers.mail.templates import schema as templates
from resolvers.mail.workers import delivery


def _delivery_worker(runtime: Any) -> delivery.DeliveryWorker | None:
    # without SMTP, mails stay PENDING in the outbox
    return delivery.DeliveryWorker(runtime) if runtime.settings.smtp_host else None


DOMAIN = Domain(
    name="mail",
    queries=(outbox.OutboxQuery, templates.TemplateQuery),
    mutations=(outbox.OutboxMutation, templates.TemplateMutation),
    node_resolvers={**outbox.NODE_RESOLVERS, **templates.NODE_RESOLVERS},
    long_text_arguments={
        # mail template bodies (resolvers/mail/templates/rules.py refuses more with TOO_LONG)
        "EmailTemplateUpdateInput.bodyHtml": template_rules.MAX_BODY,
        "EmailTemplateUpdateInput.bodyText": template_rules.MAX_BODY,
        "EmailTemplatePreviewInput.bodyHtml": template_rules.MAX_BODY,
        "EmailTemplatePreviewInput.bodyText": template_rules.MAX_BODY,
    },
    startup=(template_rules.ensure_system_templates,),
    workers=(_delivery_worker,),
    sealed=(QUEUED_MAILS,),
    commands={"mail-preview": mail_preview},
    gauges=gauges.GAUGES,
)
