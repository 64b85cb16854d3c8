"""The error codes and the error type of mail payloads (one place for the whole domain)."""

from __future__ import annotations

import enum

import strawberry

from graph.errors import UserError


@strawberry.enum(description="Why a mail mutation refused its input.")
class MailErrorCode(enum.Enum):
    # graph.errors.Code's names but TOO_MANY: no mail rule raises it, and adding it would change the schema
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    NOT_ALLOWED = "NOT_ALLOWED"
    #: system default templates are read-only: copy one to customise it
    SYSTEM_DEFAULT = "SYSTEM_DEFAULT"
    #: the template is the active one of its organisation, type and language
    ACTIVE = "ACTIVE"
    #: the template failed to compile or render, or reached for something the sandbox forbids
    TEMPLATE_INVALID = "TEMPLATE_INVALID"
    #: another change got there first (e.g. two activations at once); try again
    CONFLICT = "CONFLICT"
    #: too many of these in a short time (test mails); try again later
    RATE_LIMITED = "RATE_LIMITED"


@strawberry.type(description="A problem with the input of a mail mutation; nothing was changed.")
class MailError(UserError):
    code: MailErrorCode = strawberry.field(description="Machine-readable reason.")
    line: int | None = strawberry.field(
        default=None,
        description="For TEMPLATE_INVALID: the line of the template (in `field`) where it failed, when known.",
    )
