"""Error types: GraphQL errors with `extensions.code`, and typed user errors for payloads."""

from __future__ import annotations

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

    def __init__(self, code: object, message: str, field: list[str] | str | None = None) -> None:
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
