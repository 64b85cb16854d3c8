"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/), SHOULDs included.

- GET (queries only; a mutation over GET is 405) and POST with application/json.
- Response media type by the Accept header (q-values, RFC 9110): application/graphql-response+json
  when accepted, and without an Accept header (then requests that fail to parse, validate or
  coerce variables get 400 and no `data` entry), application/json for legacy clients (then every
  well-formed request gets 200); 406 when neither is acceptable.
- Malformed requests (bad JSON, wrong parameter types) get 400; other methods 405; other
  content types or charsets 415; bodies over 1 MB 413.
- Persisted queries: `extensions.persistedQuery.sha256Hash` (Apollo's protocol), with an optional
  allow-list that makes them the only queries accepted.
- File uploads: POST multipart/form-data per the GraphQL multipart request spec
  (https://github.com/jaydenseric/graphql-multipart-request-spec): fields `operations` and `map`,
  then the files, which reach resolvers as Starlette UploadFiles (spooled to disk) through the
  `Upload` scalar. The whole body is capped by FLEETGRAPH_MAX_UPLOAD_BYTES (413); a malformed
  `operations` or `map` is 400.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from graph.auth import authenticate_request, bearer_token
from graph.context import Context, RequestReads
from graph.errors import PersistedQueryNotFound, PersistedQueryRequired, should_mask, with_request_id
from graph.metrics import CURRENT_REQUEST, REQUEST_ID_HEADER, RequestRecord, request_id_of

#: One line per GraphQL request over HTTP, a JSON object: request ID, operation name, status, duration, SQL.
request_log = logging.getLogger("fleetgraph.requests")

if TYPE_CHECKING:
    from graph.runtime import Runtime

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
MULTIPART = "multipart/form-data"
MAX_BODY_BYTES = 1_000_000
#: Files per multipart request, and form fields besides them (`operations`, `map`, a little slack).
MAX_UPLOAD_FILES = 10
MAX_UPLOAD_FIELDS = 4
INTERNAL_ERROR_MESSAGE = "Unexpected error."  # what strawberry's MaskErrors says


class RequestError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    """(media range, q) pairs of an Accept header; ranges asking for a charset other than UTF-8 are dropped."""
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = [piece.strip() for piece in part.split(";")]
        if not media:
            continue
        quality = 1.0
        usable = True
        for param in params:
            name, _, value = param.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"').lower()
            if name == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
            elif name == "charset" and value not in ("utf-8", "utf8"):
                usable = False  # we only ever answer in UTF-8
        if usable:
            ranges.append((media.lower(), quality))
    return ranges


def _quality(offer: str, ranges: list[tuple[str, float]]) -> float:
    """q of `offer` under RFC 9110: the most specific matching range decides (type/subtype > type/* > */*)."""
    kind = offer.split("/")[0]
    best: tuple[int, float] | None = None
    for media, quality in ranges:
        specificity = 2 if media == offer else 1 if media == f"{kind}/*" else 0 if media == "*/*" else -1
        if specificity >= 0 and (best is None or specificity > best[0]):
            best = (specificity, quality)
    return best[1] if best else 0.0


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None when nothing we serve is acceptable.

    Order in the header does not matter (RFC 9110), only q-values; on a tie we pick
    application/graphql-response+json, the spec's preferred type. No Accept header counts as
    `Accept: application/graphql-response+json`, as the spec says servers SHOULD do since its
    legacy watershed (2025-01-01).
    """
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE_JSON
    ranges = _media_ranges(accept)
    offers = [
        (_quality(offer, ranges), preference, offer) for preference, offer in ((1, GRAPHQL_RESPONSE_JSON), (0, JSON))
    ]
    quality, _, offer = max(offers)
    return offer if quality > 0 else None


def _is_hex(text: str) -> bool:
    return all(char in "0123456789abcdefABCDEF" for char in text)


class PersistedQueries:
    """sha256 -> document. Learned from clients (bounded), or fixed by an allow-list file."""

    def __init__(
        self, allow_list_file: str = "", only: bool = False, capacity: int = 5000, own_documents: Iterable[str] = ()
    ) -> None:
        self.only = only
        self.capacity = capacity
        self._learned: OrderedDict[str, str] = OrderedDict()
        # the documents of the server's own pages (Domain.documents) are always allowed
        self._allowed: dict[str, str] = {
            hashlib.sha256(document.encode()).hexdigest(): document for document in own_documents
        }
        if allow_list_file:
            self._allowed.update(
                {key.lower(): value for key, value in json.loads(Path(allow_list_file).read_text()).items()}
            )

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        persisted = (extensions or {}).get("persistedQuery")
        if not isinstance(persisted, dict):
            if self.only and query is not None and hashlib.sha256(query.encode()).hexdigest() not in self._allowed:
                raise PersistedQueryRequired("Only persisted queries are accepted by this server.")
            return query
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64 or not _is_hex(digest):
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
    (principal, problem), rows = (None, None), None
    reads = RequestReads(runtime.session_factory)
    record = CURRENT_REQUEST.get()
    if token is not None:
        (principal, problem), rows = await authenticate_request(reads, token)
    context = Context(
        runtime,
        principal=principal,
        auth_problem=problem,
        client_address=client_address(request),
        request=request,
        reads=reads,
        request_id=record.request_id if record is not None else "",
    )
    if rows is not None:
        for prime in runtime.request_primers:
            prime(context, *rows)
    return context


def _object_param(raw: Any, name: str, *, from_url: bool) -> dict[str, Any] | None:
    """`variables`/`extensions`: a JSON object in a POST body; JSON text of an object in a GET URL."""
    if raw is None:
        return None
    if from_url:
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RequestError(400, f"`{name}` is not valid JSON") from exc
    if raw is not None and not isinstance(raw, dict):
        raise RequestError(400, f"`{name}` must be an object")
    return raw


def _content_type(request: Request) -> tuple[str, str | None]:
    media, *params = [piece.strip() for piece in request.headers.get("content-type", "").split(";")]
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.lower(), charset


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:  # also without (or with a false) Content-Length
            raise RequestError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    return bytes(body)


def _capped_request(request: Request, limit: int) -> Request:
    """The request with a body that raises 413 past `limit` bytes, also without (or with a false) Content-Length."""
    received = 0

    async def receive():
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise RequestError(
                    413, f"the upload request is larger than {limit} bytes (FLEETGRAPH_MAX_UPLOAD_BYTES)"
                )
        return message

    return Request(request.scope, receive)


def _json_field(form: FormData, name: str) -> Any:
    value = form.get(name)
    if value is None:
        raise RequestError(400, f"a multipart request needs the field `{name}` (GraphQL multipart request spec)")
    if not isinstance(value, str):
        raise RequestError(400, f"the multipart field `{name}` must be a form field, not a file")
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"the multipart field `{name}` is not valid JSON") from exc


def _place_file(operations: dict[str, Any], path: str, upload: UploadFile) -> None:
    """Put `upload` where `path` ("variables.file", "variables.files.0") points; it must point to a null."""
    keys = path.split(".")
    target: Any = operations
    for position, key in enumerate(keys):
        if isinstance(target, dict) and key in target:
            slot: Any = key
        elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
            slot = int(key)
        else:
            raise RequestError(400, f"the map path `{path}` does not exist in `operations`")
        if position == len(keys) - 1:
            if target[slot] is not None:
                raise RequestError(400, f"the map path `{path}` must point to a null in `operations`")
            target[slot] = upload
        else:
            target = target[slot]


async def _read_multipart(request: Request, max_upload_bytes: int) -> tuple[dict[str, Any], FormData]:
    """`operations` with the mapped files in place, and the form (the caller closes its files)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_upload_bytes:
        raise RequestError(
            413, f"the upload request is larger than {max_upload_bytes} bytes (FLEETGRAPH_MAX_UPLOAD_BYTES)"
        )
    try:
        # Files spool to disk past 1 MB; `operations` and `map` are capped like a JSON body.
        form = await _capped_request(request, max_upload_bytes).form(
            max_files=MAX_UPLOAD_FILES, max_fields=MAX_UPLOAD_FIELDS, max_part_size=MAX_BODY_BYTES
        )
    except HTTPException as exc:  # starlette's answer to a MultiPartException inside an app
        raise RequestError(400, f"malformed multipart request: {exc.detail}") from exc
    except MultiPartException as exc:
        raise RequestError(400, f"malformed multipart request: {exc.message}") from exc
    try:
        operations = _json_field(form, "operations")
        if not isinstance(operations, dict):
            raise RequestError(400, "`operations` must be a JSON object (batching is not supported)")
        file_map = _json_field(form, "map")
        if not isinstance(file_map, dict):
            raise RequestError(400, "`map` must be a JSON object of file field names to lists of paths")
        for name, paths in file_map.items():
            if not isinstance(paths, list) or not paths or not all(isinstance(path, str) for path in paths):
                raise RequestError(400, f"`map` entry `{name}` must be a non-empty list of paths")
            upload = form.get(name)
            if not isinstance(upload, UploadFile):
                raise RequestError(400, f"`map` names the file `{name}`, which is not in the request")
            for path in paths:
                _place_file(operations, path, upload)
    except BaseException:
        await form.close()
        raise
    return operations, form


async def _read_params(request: Request, max_upload_bytes: int) -> tuple[dict[str, Any], FormData | None]:
    if request.method == "GET":
        return dict(request.query_params), None
    # CSRF: application/json forces a CORS preflight, so other sites cannot post it. A multipart
    # form is a "simple" request that any site can make a browser send, but our only credential is
    # a bearer token in the Authorization header (no cookies), which a cross-site form cannot set:
    # such a post runs as an anonymous caller and every mutation refuses it (UNAUTHENTICATED).
    media, charset = _content_type(request)
    if media == MULTIPART:
        return await _read_multipart(request, max_upload_bytes)
    if media != JSON:
        raise RequestError(415, "POST bodies must be application/json (or multipart/form-data for uploads)")
    if charset not in (None, "utf-8", "utf8"):
        raise RequestError(415, "POST bodies must be encoded in UTF-8")
    try:
        params = orjson.loads(await _read_body(request))
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, "the request body is not valid JSON (UTF-8)") from exc
    if not isinstance(params, dict):
        raise RequestError(400, "the request body must be a JSON object (batching is not supported)")
    return params, None


def _response(payload: dict[str, Any], status: int, media_type: str, headers: dict[str, str] | None = None) -> Response:
    record = CURRENT_REQUEST.get()
    if record is not None and payload.get("errors"):
        payload = {**payload, "errors": with_request_id(payload["errors"], record.request_id)}
    # The body depends on the Accept header: caches must key on it.
    return Response(
        orjson.dumps(payload),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers={"Vary": "Accept", **(headers or {})},
    )


def _request_error_response(
    errors: Sequence[Mapping[str, Any]],
    media_type: str,
    extensions: dict[str, Any] | None = None,
    *,
    internal: bool = False,
) -> Response:
    """A GraphQL request error (nothing executed): no `data` entry, as the GraphQL spec says; 400
    (500 for our own failure) with application/graphql-response+json, 200 for legacy
    application/json clients."""
    payload: dict[str, Any] = {"errors": list(errors)}
    if extensions:
        payload["extensions"] = extensions
    status = (500 if internal else 400) if media_type == GRAPHQL_RESPONSE_JSON else 200
    return _response(payload, status, media_type)


def _formatted(error: GraphQLError) -> Mapping[str, Any]:
    # An exception raised by a schema extension (e.g. a bug in a limiter) skips strawberry's
    # MaskErrors: mask it here.
    if should_mask(error):
        return GraphQLError(INTERNAL_ERROR_MESSAGE, error.nodes, error.source, error.positions).formatted
    return error.formatted


def _is_request_error(result: Any) -> bool:
    """No data at all and no error from a resolver: the request failed before execution (parse,
    validation, limits, variable coercion). A non-null root field that failed has a path."""
    return result.data is None and bool(result.errors) and all(error.path is None for error in result.errors)


async def handle_graphql(request: Request, runtime: Runtime, persisted: PersistedQueries, render_ide) -> Response:
    """One GraphQL request over HTTP, counted in the runtime's metrics, with one log line and its request ID
    in the X-Request-ID response header."""
    record = RequestRecord(request_id_of(request))
    token = CURRENT_REQUEST.set(record)
    try:
        with runtime.tracing.request(request.headers, record.request_id) as span:
            response = await _handle_graphql(request, runtime, persisted, render_ide, record)
            runtime.tracing.finish_request(
                span,
                operation=record.operation,
                operation_type=record.operation_type,
                outcome=record.outcome,
                status=response.status_code,
            )
    finally:
        CURRENT_REQUEST.reset(token)
    response.headers[REQUEST_ID_HEADER] = record.request_id
    if record.outcome:
        seconds = runtime.metrics.observe(record, record.outcome)
        fields = {
            "requestId": record.request_id,
            "operation": record.operation or None,
            "status": response.status_code,
            "outcome": record.outcome,
            "durationMs": round(seconds * 1000, 2),
            "statements": record.statements,
        }
        request_log.info("%s", orjson.dumps(fields).decode(), extra={"fields": fields})
    return response


async def _handle_graphql(
    request: Request, runtime: Runtime, persisted: PersistedQueries, render_ide, record: RequestRecord
) -> Response:
    if request.method not in ("GET", "POST"):
        return Response("GraphQL accepts GET and POST.", status_code=405, headers={"Allow": "GET, POST"})
    accept = request.headers.get("accept")
    if _wants_ide(request, runtime, accept):
        ide = render_ide()
        ide.headers["Vary"] = "Accept"
        return ide
    media_type = negotiate(accept)
    if media_type is None:
        return Response(
            f"Acceptable media types: {GRAPHQL_RESPONSE_JSON}, {JSON}.",
            status_code=406,
            media_type="text/plain",
            headers={"Vary": "Accept"},
        )
    form: FormData | None = None
    record.outcome = "refused"  # until it gets as far as an execution result
    try:
        params, form = await _read_params(request, runtime.settings.max_upload_bytes)
        graphql_params = _GraphQLParams.of(params, request)
        record.operation = graphql_params.operation_name or ""  # the document's, once it is parsed
        outcome = await _execute(request, runtime, persisted, graphql_params, media_type)
    except RequestError as error:
        body = {"errors": [{"message": error.message, "extensions": {"code": "BAD_REQUEST"}}]}
        return _response(body, error.status, media_type, error.headers)
    finally:
        if form is not None:
            await form.close()  # the uploads' spooled temporary files
    if isinstance(outcome, Response):
        return outcome
    record.outcome = "errors" if outcome.errors else "ok"
    return _result_response(outcome, media_type)


def _wants_ide(request: Request, runtime: Runtime, accept: str | None) -> bool:
    """A browser opening the endpoint: GraphiQL (when enabled) instead of a GraphQL response."""
    return (
        request.method == "GET"
        and runtime.settings.graphiql
        and "query" not in request.query_params
        and "text/html" in (accept or "")
    )


@dataclass(frozen=True)
class _GraphQLParams:
    """The request's parameters, checked for their types (400 otherwise)."""

    query: str | None
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None
    from_url: bool

    @classmethod
    def of(cls, params: dict[str, Any], request: Request) -> _GraphQLParams:
        from_url = request.method == "GET"
        query = params.get("query")
        if query is not None and not isinstance(query, str):
            raise RequestError(400, "`query` must be a string")
        operation_name = params.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise RequestError(400, "`operationName` must be a string")
        return cls(
            query=query,
            operation_name=operation_name or None,  # the spec: an empty operationName is an omitted one
            variables=_object_param(params.get("variables"), "variables", from_url=from_url),
            extensions=_object_param(params.get("extensions"), "extensions", from_url=from_url),
            from_url=from_url,
        )


async def _execute(
    request: Request, runtime: Runtime, persisted: PersistedQueries, params: _GraphQLParams, media_type: str
) -> ExecutionResult | Response:
    """Run the operation; a Response when the request fails before execution in a way only known here."""
    try:
        query = persisted.resolve(params.query, params.extensions)
    except GraphQLError as error:
        return _request_error_response([error.formatted], media_type)
    if query is None:
        raise RequestError(400, "`query` is required")
    if query == "":
        # Well-formed (a string) but not a document: a parse error, not a malformed request.
        return _request_error_response([{"message": "Syntax Error: the document is empty."}], media_type)
    context = await build_context(runtime, request, request.headers.get("authorization"))
    allowed = {OperationType.QUERY} if params.from_url else {OperationType.QUERY, OperationType.MUTATION}
    try:
        return await runtime.schema.execute(
            query,
            variable_values=params.variables,
            context_value=context,
            operation_name=params.operation_name,
            allowed_operation_types=allowed,
            operation_extensions=params.extensions,
        )
    except InvalidOperationTypeError as exc:
        if params.from_url and exc.operation_type == OperationType.MUTATION:
            raise RequestError(405, "mutations need POST", {"Allow": "POST"}) from exc
        message = "subscriptions need a websocket (graphql-transport-ws)"
        return _request_error_response([{"message": message}], media_type)
    except CannotGetOperationTypeError as exc:
        # GetOperation() failed: a GraphQL request error of a well-formed request.
        return _request_error_response([{"message": exc.as_http_error_reason()}], media_type)
    finally:
        if context.reads is not None:
            await context.reads.close()


def _result_response(result: ExecutionResult, media_type: str) -> Response:
    if _is_request_error(result):
        errors = result.errors or []
        internal = any(should_mask(error) for error in errors)
        formatted = [_formatted(error) for error in errors]
        return _request_error_response(formatted, media_type, result.extensions, internal=internal)
    return _response(dict(process_result(result)), 200, media_type)
