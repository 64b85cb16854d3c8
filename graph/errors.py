"""Error types: GraphQL errors with `extensions.code`, and typed user errors for payloads."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import strawberry
from graphql import GraphQLError


class ApiError(GraphQLError):
    """A GraphQL error meant for the client; anything else is masked as an internal error."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class QueryTooComplex(ApiError):
    code = "QUERY_TOO_COMPLEX"


class PersistedQueryNotFound(ApiError):
    code = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryRequired(ApiError):
    code = "PERSISTED_QUERY_REQUIRED"


def with_request_id(errors: Iterable[Mapping[str, Any]], request_id: str) -> list[dict[str, Any]]:
    """Formatted GraphQL errors with `extensions.requestId` (the X-Request-ID): a client quotes it, and the
    operator finds the request's log lines, also those of a masked error."""
    return [{**error, "extensions": {**(error.get("extensions") or {}), "requestId": request_id}} for error in errors]


def should_mask(error: GraphQLError) -> bool:
    """Hide the text of unexpected exceptions: it may carry SQL, paths or secrets.

    GraphQL errors are meant for the client: ours (ApiError) and graphql-core's, e.g. variable
    coercion wraps its reason ("Int cannot represent …") as original_error.
    """
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


@strawberry.interface(description="A problem with the input of a mutation; nothing was changed.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the input field that caused the error, or null for the whole input."
    )
    message: str = strawberry.field(description="What went wrong, readable by a person.")


class DomainError(Exception):
    """Raised by domain functions; mapped to a typed payload error by the resolver.

    `code` is a member of the domain's error-code enum.
    """

    def __init__(self, code: enum.Enum, message: str, field: list[str] | str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = [field] if isinstance(field, str) else field


class DomainErrors(DomainError):
    """Several problems at once (every bad serial number, every unknown ID); nothing was stored."""

    def __init__(self, errors: list[DomainError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = errors


def problems_of(error: DomainError) -> list[DomainError]:
    return error.errors if isinstance(error, DomainErrors) else [error]


class Code(enum.Enum):
    """Codes raised by graph/ helpers; a payload maps them by name to its domain's enum, which has them all."""

    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    TOO_MANY = "TOO_MANY"
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True)
class RowProblem:
    """A problem of an uploaded file: `line` None is about the whole file, `column` None the whole row."""

    code: enum.Enum
    reason: str
    source: str
    line: int | None = None
    column: str | None = None

    @property
    def message(self) -> str:
        return f"Line {self.line}: {self.reason}" if self.line is not None else self.reason

    @property
    def field(self) -> list[str]:
        path = [self.source]
        if self.line is not None:
            path.append(str(self.line))
            if self.column is not None:
                path.append(self.column)
        return path


class RowProblems:
    """Problems of a file in line order; beyond `cap` only counted, so 200,000 bad rows stay cheap."""

    def __init__(self, source: str, cap: int | None) -> None:
        self.source = source
        self.cap = cap
        self.kept: list[RowProblem] = []
        self.count = 0

    def add(self, code: enum.Enum, reason: str, line: int | None = None, column: str | None = None) -> None:
        self.count += 1
        if self.cap is None or len(self.kept) < self.cap:
            self.kept.append(RowProblem(code, reason, self.source, line, column))

    def errors(self) -> list[DomainError]:
        """The kept problems, then one TOO_MANY "… and N more" when some were only counted."""
        errors = [DomainError(problem.code, problem.message, problem.field) for problem in self.kept]
        if self.count > len(self.kept):
            errors.append(
                DomainError(Code.TOO_MANY, f"… and {self.count - len(self.kept)} more problems.", self.source)
            )
        return errors


# --- a rule's result as a payload -------------------------------------------------------------------------

Payload = TypeVar("Payload")
Result = TypeVar("Result")


def as_payload(
    payload_type: type[Payload], result: Result | DomainError, ok: Callable[[Result], Payload], **refused_fields: Any
) -> Payload:
    """`ok(result)`, or the payload of a refusal when the rule raised (or returned) a DomainError.

    `refused_fields` fill the refusal's non-null fields (e.g. `success=False`); the others are null.
    """
    if isinstance(result, DomainError):
        return refused(payload_type, result, **refused_fields)
    return ok(result)


def refused(payload_type: type[Payload], error: DomainError, **fields: Any) -> Payload:
    """`payload_type` with every problem of `error` in `errors` and its other fields null (or as given).

    The error type is read from the payload's `errors` field, and each problem's code is taken by name
    from that type's `code` enum, so graph/ helpers can raise `graph.errors.Code` for any domain.
    """
    error_type, code_enum = _error_types(cast(type, payload_type))  # a class, so hashable for the cache
    errors = [
        error_type(code=code_enum[problem.code.name], field=problem.field, message=problem.message)
        for problem in problems_of(error)
    ]
    nulls = {name: None for name in _field_names(cast(type, payload_type)) if name != "errors"}
    return payload_type(**{**nulls, **fields, "errors": errors})


@functools.cache
def _field_names(payload_type: type) -> tuple[str, ...]:
    return tuple(field.python_name for field in payload_type.__strawberry_definition__.fields)  # type: ignore[attr-defined]


@functools.cache
def _error_types(payload_type: type) -> tuple[type, type[enum.Enum]]:
    definition = payload_type.__strawberry_definition__  # type: ignore[attr-defined]
    errors_field = next(field for field in definition.fields if field.python_name == "errors")
    error_type = errors_field.type.of_type
    code_field = next(field for field in error_type.__strawberry_definition__.fields if field.python_name == "code")
    code_type = code_field.type
    return error_type, getattr(code_type, "wrapped_cls", code_type)  # strawberry's definition of the enum
