"""The error codes and the error type of identity payloads (one place for the whole domain)."""

from __future__ import annotations

import enum

import strawberry

from graph.errors import UserError


@strawberry.enum(description="Why an identity mutation refused its input.")
class IdentityErrorCode(enum.Enum):
    # graph.errors.Code's names
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    #: issue 19: more SAML role mappings than allowed
    TOO_MANY = "TOO_MANY"
    NOT_FOUND = "NOT_FOUND"
    NOT_ALLOWED = "NOT_ALLOWED"
    DUPLICATE = "DUPLICATE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    TWO_FACTOR_REQUIRED = "TWO_FACTOR_REQUIRED"
    INVALID_TWO_FACTOR_CODE = "INVALID_TWO_FACTOR_CODE"
    TWO_FACTOR_NOT_ENROLLED = "TWO_FACTOR_NOT_ENROLLED"
    INVALID_TOKEN = "INVALID_TOKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    PASSWORD_REUSED = "PASSWORD_REUSED"
    INVALID_STATE = "INVALID_STATE"
    EXPIRED = "EXPIRED"
    #: issue 18: an uploaded theme image over the size limit
    TOO_LARGE = "TOO_LARGE"
    #: issue 18: a login domain's TXT record was not found
    NOT_VERIFIED = "NOT_VERIFIED"
    #: issue 19: the organisation requires single sign-on; password login is refused
    SSO_REQUIRED = "SSO_REQUIRED"
    #: issue 19: unlinking would leave the user no way to sign in (no password, no other identity, no SAML link)
    LAST_SIGN_IN_METHOD = "LAST_SIGN_IN_METHOD"


@strawberry.type(description="A problem with the input of an identity mutation.")
class IdentityError(UserError):
    code: IdentityErrorCode = strawberry.field(description="Machine-readable reason.")
