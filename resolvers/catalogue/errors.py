"""Typed errors of the catalogue mutations."""

from __future__ import annotations

import enum

import strawberry

from graph.errors import DomainError, UserError
from graph.uploads import UploadError, UploadProblem


@strawberry.enum(description="Why a catalogue mutation refused its input.")
class CatalogueErrorCode(enum.Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    TOO_MANY = "TOO_MANY"
    NOT_FOUND = "NOT_FOUND"
    NOT_ALLOWED = "NOT_ALLOWED"
    DUPLICATE = "DUPLICATE"
    ALREADY_CLAIMED = "ALREADY_CLAIMED"
    UNCLAIMED = "UNCLAIMED"
    INVALID_STATE = "INVALID_STATE"
    EXPIRED = "EXPIRED"
    REAUTHENTICATION_REQUIRED = "REAUTHENTICATION_REQUIRED"


@strawberry.type(description="A problem with the input of a catalogue mutation.")
class CatalogueError(UserError):
    code: CatalogueErrorCode = strawberry.field(description="Machine-readable reason.")


_UPLOAD_CODES = {
    UploadProblem.NOT_A_FILE: CatalogueErrorCode.INVALID,
    UploadProblem.WRONG_TYPE: CatalogueErrorCode.INVALID,
    UploadProblem.TOO_LARGE: CatalogueErrorCode.TOO_LONG,
    UploadProblem.EMPTY: CatalogueErrorCode.REQUIRED,
}


def upload_refused(error: UploadError, field: str = "file") -> DomainError:
    """A refused upload (graph.uploads) as a catalogue input error."""
    return DomainError(_UPLOAD_CODES[error.problem], error.message, field)
