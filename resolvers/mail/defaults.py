"""The shipped system default templates: every type in every language (read-only, owner NULL)."""

from __future__ import annotations

from models.mail import TemplateType

T = TemplateType

# (subject, html body, text body) per type and language.
DEFAULTS: dict[TemplateType, dict[str, tuple[str, str, str]]] = {
    T.CONFIRM_EMAIL: {
        "en": (
            "Confirm your e-mail address",
            "<p>Hello {{ recipient_name }},</p>\n<p>please confirm your new e-mail address for {{ organisation_name }}:</p>\n"
            '<p><a href="{{ link }}">Confirm e-mail address</a></p>\n<p>The link is valid for {{ valid_hours }} hour(s). '
            "If you did not ask for this change, ignore this message.</p>",
            "Hello {{ recipient_name }},\n\nplease confirm your new e-mail address for {{ organisation_name }}:\n{{ link }}\n\n"
            "The link is valid for {{ valid_hours }} hour(s). If you did not ask for this change, ignore this message.\n",
        ),
    },
    T.INVITE_USER: {
        "en": (
            "{{ inviter_name }} invites you to {{ organisation_name }}",
            "<p>Hello {{ recipient_name }},</p>\n<p>{{ inviter_name }} invites you to join {{ organisation_name }}.</p>\n"
            '<p><a href="{{ link }}">Accept the invitation</a></p>\n<p>The link is valid for {{ valid_hours }} hours and can be used once.</p>',
            "Hello {{ recipient_name }},\n\n{{ inviter_name }} invites you to join {{ organisation_name }}.\n"
            "Accept the invitation: {{ link }}\n\nThe link is valid for {{ valid_hours }} hours and can be used once.\n",
        ),
    },
    T.NEW_BATCH: {
        "en": (
            "New batch {{ batch_reference }} for {{ organisation_name }}",
            "<p>Hello {{ recipient_name }},</p>\n<p>{{ sender_organisation_name }} has handed the batch "
            "<strong>{{ batch_reference }}</strong> with {{ device_count }} devices to {{ organisation_name }}.</p>\n"
            '<p><a href="{{ link }}">Review and confirm the ownership request</a></p>',
            "Hello {{ recipient_name }},\n\n{{ sender_organisation_name }} has handed the batch {{ batch_reference }} "
            "with {{ device_count }} devices to {{ organisation_name }}.\nReview and confirm the ownership request: {{ link }}\n",
        ),
    },
    T.PASSWORD_RESET: {
        "en": (
            "Reset your password",
            "<p>Hello {{ recipient_name }},</p>\n<p>someone asked to reset the password of your {{ organisation_name }} account.</p>\n"
            '<p><a href="{{ link }}">Choose a new password</a></p>\n<p>The link is valid for {{ valid_hours }} hour(s) and can be used once. '
            "If it was not you, ignore this message: your password stays as it is.</p>",
            "Hello {{ recipient_name }},\n\nsomeone asked to reset the password of your {{ organisation_name }} account.\n"
            "Choose a new password: {{ link }}\n\nThe link is valid for {{ valid_hours }} hour(s) and can be used once. "
            "If it was not you, ignore this message: your password stays as it is.\n",
        ),
    },
}
