"""What the mail domain brings to the server (see graph.domain)."""

from graph.domain import Domain
from resolvers.mail import delivery, outbox_queries, services, template_mutations, template_queries, templates
from resolvers.mail.key_rotation import QUEUED_MAILS


def _delivery_worker(runtime):
    # without SMTP, mails stay PENDING in the outbox
    return delivery.DeliveryWorker(runtime) if runtime.settings.smtp_host else None


DOMAIN = Domain(
    name="mail",
    queries=(outbox_queries.OutboxQuery, template_queries.TemplateQuery),
    mutations=(outbox_queries.OutboxMutation, template_mutations.TemplateMutation),
    node_resolvers={**outbox_queries.NODE_RESOLVERS, **template_queries.NODE_RESOLVERS},
    long_text_arguments={
        # mail template bodies (resolvers/mail/templates.py refuses more with TOO_LONG)
        "EmailTemplateUpdateInput.bodyHtml": templates.MAX_BODY,
        "EmailTemplateUpdateInput.bodyText": templates.MAX_BODY,
        "EmailTemplatePreviewInput.bodyHtml": templates.MAX_BODY,
        "EmailTemplatePreviewInput.bodyText": templates.MAX_BODY,
    },
    startup=(services.ensure_system_templates,),
    workers=(_delivery_worker,),
    sealed=(QUEUED_MAILS,),
)
