"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/), SHOULDs included.

- GET (queries only; a mutation over GET is 405) and POST with application/json.
- Response media type by the Accept header: application/graphql-response+json when accepted
  (then requests that fail to parse, validate or coerce variables get 400), application/json for
  legacy clients (then every well-formed request gets 200); 406 when neither is acceptable.
- Malformed requests (bad JSON, wrong parameter types) get 400; other methods 405; other
  content types 415.
- Persisted queries: `extensions.persistedQuery.sha256Hash` (Apollo's protocol), with an optional
  allow-list that makes them the only queries accepted.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.http import process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from graph.auth import authenticate, bearer_token
from graph.context import Context
from graph.errors import PersistedQueryNotFound, PersistedQueryRequired
from graph.runtime import Runtime

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
MAX_BODY_BYTES = 1_000_000


class RequestError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None when nothing we serve is acceptable."""
    if not accept:
        return JSON  # the spec's advice for clients that send no Accept header
    offers: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = [piece.strip() for piece in part.split(";")]
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if quality <= 0:
            continue
        if media == GRAPHQL_RESPONSE_JSON:
            offers.append((quality, -position, GRAPHQL_RESPONSE_JSON))
        elif media == JSON:
            offers.append((quality, -position, JSON))
        elif media in ("*/*", "application/*"):
            offers.append((quality, -position - 1000, GRAPHQL_RESPONSE_JSON))
    return max(offers)[2] if offers else None


class PersistedQueries:
    """sha256 -> document. Learned from clients (bounded), or fixed by an allow-list file."""

    def __init__(self, allow_list_file: str = "", only: bool = False, capacity: int = 5000) -> None:
        self.only = only
        self.capacity = capacity
        self._learned: OrderedDict[str, str] = OrderedDict()
        self._allowed: dict[str, str] = {}
        if allow_list_file:
            self._allowed = {key.lower(): value for key, value in json.loads(Path(allow_list_file).read_text()).items()}

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        persisted = (extensions or {}).get("persistedQuery")
        if not isinstance(persisted, dict):
            if self.only and query is not None:
                digest = hashlib.sha256(query.encode()).hexdigest()
                if digest not in self._allowed:
                    raise PersistedQueryRequired("Only persisted queries are accepted by this server.")
            return query
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64:
            raise RequestError(400, "extensions.persistedQuery.sha256Hash must be a sha256 hex digest")
        digest = digest.lower()
        if query is not None:
            if hashlib.sha256(query.encode()).hexdigest() != digest:
                raise RequestError(400, "the query does not match extensions.persistedQuery.sha256Hash")
            if self.only and digest not in self._allowed:
                raise PersistedQueryRequired("This query is not on the server's allow-list.")
            if digest not in self._allowed:
                self._learned[digest] = query
                self._learned.move_to_end(digest)
                while len(self._learned) > self.capacity:
                    self._learned.popitem(last=False)
            return query
        document = self._allowed.get(digest) or (None if self.only else self._learned.get(digest))
        if document is None:
            raise PersistedQueryNotFound("PersistedQueryNotFound")
        return document


def client_address(request: Any) -> str:
    client = getattr(request, "client", None)
    return client.host if client else ""


async def build_context(runtime: Runtime, request: Any, authorization: str | None) -> Context:
    token = bearer_token(authorization)
    principal, problem = (None, None)
    if token is not None:
        principal, problem = await authenticate(runtime.session_factory, token)
    return Context(runtime, principal=principal, auth_problem=problem, client_address=client_address(request), request=request)


def _json_param(raw: Any, name: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RequestError(400, f"`{name}` is not valid JSON") from exc
    if raw is not None and not isinstance(raw, dict):
        raise RequestError(400, f"`{name}` must be an object")
    return raw


async def _read_params(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return dict(request.query_params)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise RequestError(415, "POST bodies must be application/json")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, "the request body is not valid JSON") from exc
    if not isinstance(params, dict):
        raise RequestError(400, "the request body must be a JSON object (batching is not supported)")
    return params


def _response(payload: dict[str, Any], status: int, media_type: str, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=f"{media_type}; charset=utf-8", headers=headers)


def _is_request_error(result: Any) -> bool:
    """No data at all and no error from a resolver: the request failed before execution."""
    return result.data is None and bool(result.errors) and all(error.path is None for error in result.errors)


async def handle_graphql(request: Request, runtime: Runtime, persisted: PersistedQueries, render_ide) -> Response:
    if request.method not in ("GET", "POST"):
        return Response("GraphQL accepts GET and POST.", status_code=405, headers={"Allow": "GET, POST"})
    accept = request.headers.get("accept")
    if (
        request.method == "GET"
        and runtime.settings.graphiql
        and "query" not in request.query_params
        and "text/html" in (accept or "")
    ):
        return render_ide()
    media_type = negotiate(accept)
    if media_type is None:
        return Response(
            f"Acceptable media types: {GRAPHQL_RESPONSE_JSON}, {JSON}.", status_code=406, media_type="text/plain"
        )
    try:
        params = await _read_params(request)
        query = params.get("query")
        if query is not None and not isinstance(query, str):
            raise RequestError(400, "`query` must be a string")
        operation_name = params.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise RequestError(400, "`operationName` must be a string")
        variables = _json_param(params.get("variables"), "variables")
        extensions = _json_param(params.get("extensions"), "extensions")
        try:
            query = persisted.resolve(query, extensions)
        except GraphQLError as error:
            status = 400 if media_type == GRAPHQL_RESPONSE_JSON else 200
            return _response({"errors": [error.formatted]}, status, media_type)
        if query is None:
            raise RequestError(400, "`query` is required")
        context = await build_context(runtime, request, request.headers.get("authorization"))
        allowed = {OperationType.QUERY} if request.method == "GET" else {OperationType.QUERY, OperationType.MUTATION}
        try:
            result = await runtime.schema.execute(
                query,
                variable_values=variables,
                context_value=context,
                operation_name=operation_name,
                allowed_operation_types=allowed,
                operation_extensions=extensions,
            )
        except InvalidOperationTypeError as exc:
            if request.method == "GET" and exc.operation_type == OperationType.MUTATION:
                raise RequestError(405, "mutations need POST", {"Allow": "POST"}) from exc
            raise RequestError(400, "subscriptions need a websocket (graphql-transport-ws)") from exc
        except CannotGetOperationTypeError as exc:
            raise RequestError(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise RequestError(400, "`query` is required") from exc
    except RequestError as error:
        body = {"errors": [{"message": error.message, "extensions": {"code": "BAD_REQUEST"}}]}
        return _response(body, error.status, media_type, error.headers)

    status = 400 if media_type == GRAPHQL_RESPONSE_JSON and _is_request_error(result) else 200
    return _response(process_result(result), status, media_type)
