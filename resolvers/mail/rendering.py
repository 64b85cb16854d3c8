"""Rendering mail templates with jinja2's sandbox.

Templates are written by organisation admins, so they run in jinja2's immutable sandbox (no
attribute access to Python internals, no mutation), the HTML body autoescaped, undefined names an
error. A template is checked when it is saved: it must compile and render with sample data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from models.mail import TemplateType

_HTML = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_TEXT = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)

#: The variables each type of mail is rendered with (also the sample data of previews and checks).
SAMPLE_VARIABLES: dict[TemplateType, dict[str, Any]] = {
    TemplateType.CONFIRM_EMAIL: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "link": "https://fleetgraph.example/confirm-email?token=sample",
        "valid_hours": 1,
    },
    TemplateType.INVITE_USER: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "inviter_name": "Demo Integra",
        "link": "https://fleetgraph.example/register?token=sample",
        "valid_hours": 72,
    },
    TemplateType.NEW_BATCH: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "batch_reference": "BATCH-2026-001",
        "device_count": 250,
        "sender_organisation_name": "Integra Metering AG",
        "link": "https://fleetgraph.example/batches/sample",
    },
    TemplateType.PASSWORD_RESET: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "link": "https://fleetgraph.example/reset-password?token=sample",
        "valid_hours": 1,
    },
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body_html: str
    body_text: str


@dataclass(frozen=True)
class TemplateProblem:
    field: str  # "subject", "bodyHtml" or "bodyText"
    line: int | None
    reason: str


def render(subject: str, body_html: str, body_text: str, variables: dict[str, Any]) -> RenderedMail:
    """Render all three parts; raises jinja2 errors (callers check templates when they are saved)."""
    return RenderedMail(
        subject=" ".join(_TEXT.from_string(subject).render(variables).split()),  # one line, always
        body_html=_HTML.from_string(body_html).render(variables),
        body_text=_TEXT.from_string(body_text).render(variables),
    )


def check(template_type: TemplateType, subject: str, body_html: str, body_text: str) -> list[TemplateProblem]:
    """Problems that keep a template from being saved: syntax, sandbox violations, render errors."""
    problems = []
    for field, source, environment in (("subject", subject, _TEXT), ("bodyHtml", body_html, _HTML), ("bodyText", body_text, _TEXT)):
        try:
            environment.from_string(source).render(SAMPLE_VARIABLES[template_type])
        except TemplateSyntaxError as error:
            problems.append(TemplateProblem(field, error.lineno, error.message or "syntax error"))
        except SecurityError as error:
            problems.append(TemplateProblem(field, _line_of(error), f"not allowed: {error}"))
        except TemplateError as error:
            problems.append(TemplateProblem(field, _line_of(error), error.message or type(error).__name__))
        except Exception as error:  # noqa: BLE001 - any failure to render refuses the template
            problems.append(TemplateProblem(field, _line_of(error), f"{type(error).__name__}: {error}"))
    return problems


def _line_of(error: BaseException) -> int | None:
    """The template line an exception was raised on, from jinja2's rewritten traceback."""
    traceback = error.__traceback__
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
